/*
 * startup.c - minimal startup for polyboard firmware images (Cortex-M and RISC-V).
 *
 * Cortex-M: a vector table at the start of flash; works on the Cortex-M0 (ARMv6-M), M3, M4F
 * and M33 (the FPU is enabled here when the code is built for hard float).
 * stdio goes through newlib's rdimon (ARM semihosting); link with -nostartfiles
 * --specs=rdimon.specs.
 * RISC-V: no vector table; the reset address (the start of the code region) holds a small
 * entry stub that sets the stack pointer. stdio goes through picolibc's semihosting library;
 * link with -nostartfiles --specs=picolibc.specs --oslib=semihost.
 * Expects from the linker script: _estack, _sidata, _sdata, _edata, _sbss, _ebss, and a
 * .isr_vector output section placed at the start of flash (RISC-V: also the TLS symbols).
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#ifdef POLYBOARD_TRACE
/* `scons trace=1` (trace.c): weak, so a tree that copies this file without trace.c still links. */
extern uint64_t trace_ticks(void) __attribute__((weak));
extern void trace_boot(uint64_t reset_ticks) __attribute__((weak));
#endif

extern uint32_t _estack;
extern uint32_t _sidata, _sdata, _edata, _sbss, _ebss;

extern int main(void);
extern void __libc_init_array(void);
extern void _exit(int status) __attribute__((noreturn));

void Reset_Handler(void) __attribute__((noreturn));
void Default_Handler(void);
static void start_c(void) __attribute__((noreturn));

#if defined(__arm__)

extern void initialise_monitor_handles(void);

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

/* ARMv6-M/ARMv7-M/ARMv8-M core vector table (16 entries); no device interrupts are used. */
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

void Reset_Handler(void)
{
#if defined(__ARM_FP)
    /* Grant full access to CP10/CP11 (the FPU) before any FP instruction. */
    volatile uint32_t *const cpacr = (volatile uint32_t *)0xE000ED88u;
    *cpacr |= (0xFu << 20);
    __asm__ volatile ("dsb\n\tisb" ::: "memory");
#endif
    start_c();
}

#elif defined(__riscv)

/* The reset address is the start of the code region: the stack pointer first, then C. */
__attribute__((naked, section(".isr_vector"), used))
void Reset_Handler(void)
{
    __asm__ volatile ("la sp, _estack\n\t"
                      "j riscv_start");
}

void riscv_start(void) __attribute__((noreturn, used));
void riscv_start(void)
{
    /* Any trap (there are no interrupt handlers) ends the run like a Cortex-M fault does. */
    /* (CSR instructions are the Zicsr extension, which -march=rv32imac leaves out for GCC 12;
     * the march stays as it is, so that the rv32imac multilib of picolibc is linked.) */
    __asm__ volatile (".option push\n\t.option arch, +zicsr\n\t"
                      "csrw mtvec, %0\n\t.option pop" :: "r"(&Default_Handler));
    start_c();
}

/* picolibc keeps errno and friends in thread-local storage: the thread pointer (tp) must point
 * at a block holding a copy of .tdata followed by a zeroed .tbss. Its size is known only to
 * the linker (the symbols below), and is a few bytes; 64 are reserved here. */
extern const char __tdata_source[], __tdata_size[], __tbss_size[];
extern void _set_tls(void *tls);
static uint64_t tls_block[8];

static void init_tls(void)
{
    size_t tdata = (size_t)__tdata_size, tbss = (size_t)__tbss_size;
    if (tdata + tbss > sizeof tls_block)
        _exit(98);                  /* more thread-locals than reserved: enlarge tls_block */
    unsigned char *block = (unsigned char *)tls_block;
    for (size_t i = 0; i < tdata; i++)
        block[i] = (unsigned char)__tdata_source[i];
    _set_tls(block);                /* .tbss is the zeroed rest of the block (.bss) */
}

#else
#error "startup.c: no startup code for this architecture (Cortex-M and RISC-V only)"
#endif

/* -nostartfiles drops crti.o/crtn.o, but newlib's __libc_init_array still
 * calls _init(); provide empty ones (weak, so real ones win if linked). */
void __attribute__((weak)) _init(void) {}
void __attribute__((weak)) _fini(void) {}

static void start_c(void)
{
#ifdef POLYBOARD_TRACE
    uint64_t reset_ticks = trace_ticks ? trace_ticks() : 0;  /* in a register or the stack: .bss is not ready */
#endif
    /* Copy initialised data from flash to RAM. */
    uint32_t *src = &_sidata;
    for (uint32_t *dst = &_sdata; dst < &_edata; )
        *dst++ = *src++;

    /* Zero .bss. */
    for (uint32_t *dst = &_sbss; dst < &_ebss; )
        *dst++ = 0;

#if defined(__arm__)
    initialise_monitor_handles();   /* rdimon: semihosting stdin/stdout/stderr */
#else
    init_tls();                     /* picolibc's stdio needs no set-up; its errno does */
#endif
#ifdef POLYBOARD_TRACE
    if (trace_boot)
        trace_boot(reset_ticks);    /* paints the free RAM: the stack's high-water mark */
#endif
    __libc_init_array();            /* C/C++ static constructors */
    exit(main());
}

/* Unexpected exception: report through semihosting with a distinctive code.
 * (RISC-V: this is the trap vector, so it must be 4-byte aligned.) */
__attribute__((aligned(4)))
void Default_Handler(void)
{
    _exit(99);
}
