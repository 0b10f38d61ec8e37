/*
 * startup.c - minimal Cortex-M startup for polyboard firmware images.
 *
 * Works on Cortex-M4F (hard-float, FPU enabled here) and Cortex-M3 (no FPU).
 * Expects from the linker script: _estack, _sidata, _sdata, _edata, _sbss,
 * _ebss, and a .isr_vector output section placed at the start of flash.
 * stdio goes through newlib's rdimon (ARM semihosting); link with
 * -nostartfiles --specs=rdimon.specs.
 */
#include <stdint.h>
#include <stdlib.h>

extern uint32_t _estack;
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss;

extern int main(void);
extern void initialise_monitor_handles(void);
extern void __libc_init_array(void);
extern void _exit(int status) __attribute__((noreturn));

void Reset_Handler(void) __attribute__((noreturn));
void Default_Handler(void);

/* Core exception handlers; a board or application may override any of them. */
void NMI_Handler(void) __attribute__((weak, alias("Default_Handler")));
void HardFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void MemManage_Handler(void) __attribute__((weak, alias("Default_Handler")));
void BusFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void UsageFault_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SVC_Handler(void) __attribute__((weak, alias("Default_Handler")));
void DebugMon_Handler(void) __attribute__((weak, alias("Default_Handler")));
void PendSV_Handler(void) __attribute__((weak, alias("Default_Handler")));
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));

typedef union {
    void (*handler)(void);
    void *stack_top;
} vector_entry;

/* ARMv7-M core vector table (16 entries); no device interrupts are used. */
__attribute__((section(".isr_vector"), used))
const vector_entry g_vectors[16] = {
    { .stack_top = &_estack },
    { .handler = Reset_Handler },
    { .handler = NMI_Handler },
    { .handler = HardFault_Handler },
    { .handler = MemManage_Handler },
    { .handler = BusFault_Handler },
    { .handler = UsageFault_Handler },
    { 0 }, { 0 }, { 0 }, { 0 },            /* reserved */
    { .handler = SVC_Handler },
    { .handler = DebugMon_Handler },
    { 0 },                                 /* reserved */
    { .handler = PendSV_Handler },
    { .handler = SysTick_Handler },
};

/* -nostartfiles drops crti.o/crtn.o, but newlib's __libc_init_array still
 * calls _init(); provide empty ones (weak, so real ones win if linked). */
void __attribute__((weak)) _init(void) {}
void __attribute__((weak)) _fini(void) {}

void Reset_Handler(void)
{
#if defined(__ARM_FP)
    /* Grant full access to CP10/CP11 (the FPU) before any FP instruction. */
    volatile uint32_t *const cpacr = (volatile uint32_t *)0xE000ED88u;
    *cpacr |= (0xFu << 20);
    __asm__ volatile ("dsb\n\tisb" ::: "memory");
#endif

    /* Copy initialised data from flash to RAM. */
    uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata; )
        *dst++ = *src++;

    /* Zero .bss. */
    for (uint32_t *dst = &_sbss; dst < &_ebss; )
        *dst++ = 0;

    initialise_monitor_handles();   /* rdimon: semihosting stdin/stdout/stderr */
    __libc_init_array();            /* C/C++ static constructors */
    exit(main());
}

/* Unexpected exception: report through semihosting with a distinctive code. */
void Default_Handler(void)
{
    _exit(99);
}
