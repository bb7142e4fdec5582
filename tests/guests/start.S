/* Entry of every C test guest. The VMM enters here in 64-bit mode as the
 * Linux boot protocol's 64-bit entry (Documentation/x86/boot.rst, "64-bit
 * BOOT PROTOCOL"): paging on, first 4 GiB identity mapped, interrupts off,
 * %rsi = physical address of struct boot_params, and no usable stack.
 *
 * Built twice: plain, and with BOOT_MARKER_FIRST, where the very first guest
 * instruction writes the boot-time marker (Firecracker's convention: value
 * 123 to I/O port 0x3f0), so "exec to first guest instruction" is observable. */
	.section .text.start, "ax"
	.code64
	.globl _start
_start:
#ifdef BOOT_MARKER_FIRST
	mov	$0x3f0, %dx
	mov	$123, %al
	out	%al, %dx
#endif
	lea	guest_stack_top(%rip), %rsp
	xor	%ebp, %ebp
	mov	%rsi, %rbx
	mov	%rsi, %rdi
	call	guest_lib_init
	mov	%rbx, %rdi
	call	guest_main
	/* guest_main returned: end the VM through the i8042. */
	call	guest_reset
1:	cli
	hlt
	jmp	1b

	.section .bss.stack, "aw", @nobits
	.balign	16
	.space	16384
guest_stack_top:
	.section .note.GNU-stack, "", @progbits
