/* Bind-mount helpers on the new mount API; 0 / fd or -errno. */
#ifndef APPVM_JAIL_JAIL_MOUNT_H
#define APPVM_JAIL_JAIL_MOUNT_H
/* Detached recursive clone of the mount tree at src (an O_PATH-like fd). */
int jail_mount_clone_tree(const char *src);
/* nosuid, plus read-only when rdonly, on every mount of the tree. */
int jail_mount_restrict(int tree, int rdonly);
/* Attach the detached tree at dst. */
int jail_mount_attach(int tree, const char *dst);
#endif
