// green_swap / green_entry_trampoline: see include/green_context.h.
#if defined(__x86_64__)
    .text
    .globl green_swap
    .type green_swap, @function
    .p2align 4
// void *green_swap(void **save_sp /*rdi*/, void *target_sp /*rsi*/, void *arg /*rdx*/)
green_swap:
    .cfi_startproc
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    subq $8, %rsp
    stmxcsr (%rsp)
    fnstcw 4(%rsp)
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    ldmxcsr (%rsp)
    fldcw 4(%rsp)
    addq $8, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    movq %rdx, %rax
    movq %rdx, %rdi
    ret
    .cfi_endproc
    .size green_swap, .-green_swap

    .globl green_entry_trampoline
    .type green_entry_trampoline, @function
    .p2align 4
// Entered by green_swap's `ret` on a fresh stack: rdi = arg, r12 = entry, r13 = data.
green_entry_trampoline:
    .cfi_startproc
    .cfi_undefined rip
    xorl %ebp, %ebp
    movq %r13, %rsi
    callq *%r12
    ud2
    .cfi_endproc
    .size green_entry_trampoline, .-green_entry_trampoline

#elif defined(__aarch64__)
    .text
    .globl green_swap
    .type green_swap, %function
    .p2align 4
// void *green_swap(void **save_sp /*x0*/, void *target_sp /*x1*/, void *arg /*x2*/)
green_swap:
    .cfi_startproc
    sub sp, sp, #176
    stp x19, x20, [sp, #0]
    stp x21, x22, [sp, #16]
    stp x23, x24, [sp, #32]
    stp x25, x26, [sp, #48]
    stp x27, x28, [sp, #64]
    stp x29, x30, [sp, #80]
    stp d8, d9, [sp, #96]
    stp d10, d11, [sp, #112]
    stp d12, d13, [sp, #128]
    stp d14, d15, [sp, #144]
    mrs x9, fpcr
    str x9, [sp, #160]
    mov x9, sp
    str x9, [x0]
    mov sp, x1
    ldr x9, [sp, #160]
    msr fpcr, x9
    ldp x19, x20, [sp, #0]
    ldp x21, x22, [sp, #16]
    ldp x23, x24, [sp, #32]
    ldp x25, x26, [sp, #48]
    ldp x27, x28, [sp, #64]
    ldp x29, x30, [sp, #80]
    ldp d8, d9, [sp, #96]
    ldp d10, d11, [sp, #112]
    ldp d12, d13, [sp, #128]
    ldp d14, d15, [sp, #144]
    add sp, sp, #176
    mov x0, x2
    ret
    .cfi_endproc
    .size green_swap, .-green_swap

    .globl green_entry_trampoline
    .type green_entry_trampoline, %function
    .p2align 4
// Entered by green_swap's `ret` on a fresh stack: x0 = arg, x19 = entry, x20 = data.
green_entry_trampoline:
    .cfi_startproc
    .cfi_undefined x30
    mov x29, #0
    mov x1, x20
    blr x19
    brk #0
    .cfi_endproc
    .size green_entry_trampoline, .-green_entry_trampoline
#else
#error "Green's context switch supports x86_64 and aarch64 only"
#endif

#if defined(__linux__) && defined(__ELF__)
    .section .note.GNU-stack,"",%progbits
#endif
