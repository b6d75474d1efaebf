/*
 * hostile.c - guest kernels that try to exhaust the host (issue: "every vCPU
 * is malicious").  Each is built with one HOSTILE_* mode and runs until the
 * run's instruction limit; bench/hostile.sh measures what the host keeps
 * (max RSS, events.jsonl, console log) and docs/robustness.md gives the bounds.
 *
 *   HOSTILE_CONSOLE   console_io writes of 64 KiB, forever
 *   HOSTILE_REGIONS   vbase_op enter + exit of a 512-page region, forever
 *   HOSTILE_RO_STORES stores to its read-only start-info page, forever
 *   HOSTILE_TIME      a deadline past the end of time (must be refused), then
 *                     the last representable one: virtual time saturates
 */
#include "kernel.h"

/* The guest kernel's own hypercall wrapper (kernel.h, included only for it). */
#define hypercall hypercall5

#define REGION_PAGES 512
#define REGION_GPA   0x80400000UL

#if defined(HOSTILE_CONSOLE)
static uint8_t buffer[64 * 1024];
#elif defined(HOSTILE_REGIONS)
static uint64_t frames[REGION_PAGES];
#elif defined(HOSTILE_TIME)
static void power_off(long code)
{
    hypercall(HYPERVISOR_sched_op, SCHEDOP_shutdown, SHUTDOWN_poweroff, code, 0, 0);
}
#endif

int main(void)
{
#if defined(HOSTILE_CONSOLE)
    for (unsigned i = 0; i < sizeof buffer; i++)
        buffer[i] = (i % 64 == 63) ? '\n' : (uint8_t)('A' + i % 26);
    for (;;)
        hypercall(HYPERVISOR_console_io, CONSOLEIO_write, sizeof buffer, (long)buffer, 0, 0);
#elif defined(HOSTILE_REGIONS)
    for (unsigned i = 0; i < REGION_PAGES; i++)
        frames[i] = (REGION_GPA >> 12) + i;
    for (;;) {
        hypercall(HYPERVISOR_vbase_op, VBASEOP_enter, (long)frames, REGION_PAGES, 0, (long)REGION_GPA);
        hypercall(HYPERVISOR_vbase_op, VBASEOP_exit, (long)frames, REGION_PAGES, 0, (long)REGION_GPA);
    }
#elif defined(HOSTILE_RO_STORES)
    volatile uint64_t *start_info = (volatile uint64_t *)VBASE_START_INFO_GPA;
    for (uint64_t i = 0;; i++)
        start_info[i % 512] = i;
#elif defined(HOSTILE_TIME)
    long refused = hypercall(HYPERVISOR_set_timer_op, (long)0xFFFFFFFFFFFFF000UL, 0, 0, 0, 0);
    if (refused != -VBASE_EINVAL)
        power_off(1);
    hypercall(HYPERVISOR_set_timer_op, (long)0x7FFFFFFFFFFFFFFFUL, 0, 0, 0, 0);
    hypercall(HYPERVISOR_sched_op, SCHEDOP_block, 0, 0, 0, 0);
    /* Time is now at its end; it must stay there, not wrap. */
    uint64_t before = (uint64_t)hypercall(HYPERVISOR_vcpu_op, VCPUOP_time, 0, 0, 0, 0);
    for (int i = 0; i < 100000; i++)
        hypercall(HYPERVISOR_sched_op, SCHEDOP_yield, 0, 0, 0, 0);
    uint64_t after = (uint64_t)hypercall(HYPERVISOR_vcpu_op, VCPUOP_time, 0, 0, 0, 0);
    power_off(after >= before && before >= 0x7FFFFFFF00000000UL ? 0 : 2);
#else
#error "build with one HOSTILE_* mode"
#endif
    return 0;
}
