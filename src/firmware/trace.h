/*
 * trace.h - the firmware's side of `scons trace=1` (POLYBOARD_TRACE defined on every C file).
 *
 * Without POLYBOARD_TRACE every macro is empty and trace.c compiles to nothing, so a release
 * image holds no tracing code. With it, the firmware records boot timestamps, the time spent in
 * each kernel call and the peak stack use, and prints them at the end as `TRACE <kind> k=v ...`
 * lines on the semihosting console, which `scons trace=1 run` collects (docs/tracing.md).
 */
#ifndef POLYBOARD_FIRMWARE_TRACE_H
#define POLYBOARD_FIRMWARE_TRACE_H

#include <stdint.h>

#ifdef POLYBOARD_TRACE

/* Nanoseconds since the emulator (or the debugger's semihosting host) started: SYS_ELAPSED. */
uint64_t trace_now_ns(void);
/* Raw SYS_ELAPSED ticks: what the startup code reads before .data/.bss are set up. */
uint64_t trace_ticks(void);
/* From the startup code, once .data/.bss are ready: paints the stack, converts the reset time. */
void trace_boot(uint64_t reset_ticks);
void trace_main_entered(void);
void trace_call_done(unsigned function, uint64_t started_ns);
void trace_report(void);

#define TRACE_CALL(function, expression) \
    ({ uint64_t trace_started_ = trace_now_ns(); __typeof__(expression) trace_result_ = (expression); \
       trace_call_done((function), trace_started_); trace_result_; })
#define TRACE_MAIN_ENTERED() trace_main_entered()
#define TRACE_REPORT() trace_report()

#else

#define TRACE_CALL(function, expression) (expression)
#define TRACE_MAIN_ENTERED() ((void)0)
#define TRACE_REPORT() ((void)0)

#endif /* POLYBOARD_TRACE */
#endif /* POLYBOARD_FIRMWARE_TRACE_H */
