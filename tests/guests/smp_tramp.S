/* AP start-up trampoline for the smp guest. The BSP copies the bytes from
 * smp_tramp_start to smp_tramp_end to SMP_TRAMP_ADDR and sends INIT-SIPI-SIPI
 * with vector SMP_TRAMP_ADDR >> 12 (Intel SDM vol. 3 8.4.4, MP initialization
 * example). The AP starts in real mode at CS = vector << 8, IP = 0, goes to
 * protected mode with a temporary GDT, then to long mode on the BSP's page
 * tables (CR3 patched in by the BSP), counts itself, marks its APIC ID in a
 * bitmap and halts with interrupts off. Everything is addressed relative to
 * SMP_TRAMP_ADDR because the code runs from the copy, not from the image. */
#include "smp.h"

#define T(sym) (SMP_TRAMP_ADDR + ((sym) - smp_tramp_start))

	.section .rodata.tramp, "a"
	.globl	smp_tramp_start, smp_tramp_end, smp_tramp_cr3, smp_tramp_count, smp_tramp_bitmap
	.code16
smp_tramp_start:
	cli
	mov	%cs, %ax
	mov	%ax, %ds
	lgdtl	(tramp_gdt_desc - smp_tramp_start)
	mov	%cr0, %eax
	or	$1, %eax		/* PE */
	mov	%eax, %cr0
	ljmpl	$0x08, $T(tramp_pm32)

	.code32
tramp_pm32:
	mov	$0x10, %ax
	mov	%ax, %ds
	mov	%ax, %es
	mov	%ax, %ss
	mov	%cr4, %eax
	or	$0x20, %eax		/* PAE */
	mov	%eax, %cr4
	mov	T(smp_tramp_cr3), %eax
	mov	%eax, %cr3
	mov	$0xc0000080, %ecx	/* IA32_EFER */
	rdmsr
	or	$0x100, %eax		/* LME */
	wrmsr
	mov	%cr0, %eax
	or	$0x80000000, %eax	/* PG: long mode becomes active */
	mov	%eax, %cr0
	ljmpl	$0x18, $T(tramp_lm64)

	.code64
tramp_lm64:
	mov	$0xfee00020, %ebx	/* LAPIC ID register, bits 31:24 */
	mov	(%rbx), %eax
	shr	$24, %eax
	mov	T(smp_tramp_bitmap), %ebx
	lock bts %eax, (%rbx)
	mov	T(smp_tramp_count), %ebx
	lock incl (%rbx)
1:	cli
	hlt
	jmp	1b

	.balign	8
tramp_gdt:
	.quad	0
	.quad	0x00cf9a000000ffff	/* 0x08: 32-bit code */
	.quad	0x00cf92000000ffff	/* 0x10: data */
	.quad	0x00af9a000000ffff	/* 0x18: 64-bit code */
tramp_gdt_desc:
	.word	tramp_gdt_desc - tramp_gdt - 1
	.long	T(tramp_gdt)
	.balign	8
/* Patched by the BSP in the copy. */
smp_tramp_cr3:
	.long	0
smp_tramp_count:	/* address of the AP counter */
	.long	0
smp_tramp_bitmap:	/* address of the APIC ID bitmap */
	.long	0
smp_tramp_end:
	.section .note.GNU-stack, "", @progbits
