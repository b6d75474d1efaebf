/*
 * traps.h - what traps.c and traps_asm.S share: the trap-frame layout and
 * the "syscall" numbers the test uses to move between privilege modes.
 */
#ifndef TRAPS_H
#define TRAPS_H

/* Trap frame, on the stack of the interrupted code:
   x0..x31 (x0 slot unused; x2 holds the pre-trap sp), then the CSRs. */
#define FRAME_EPC     (32 * 8)
#define FRAME_CAUSE   (33 * 8)
#define FRAME_TVAL    (34 * 8)
#define FRAME_STATUS  (35 * 8)
#define FRAME_VEC     (36 * 8) /* vector slot that caught it, -1 = direct */
#define FRAME_SIZE    (40 * 8) /* multiple of 16 */

/* ecall numbers (in a7).  Any other a7 is a plain ecall to be recorded. */
#define SYS_UP        0x56420001 /* return to the handling mode, after the ecall */
#define SYS_USER_RET  0x56420002 /* end of a user_call() snippet; a0 = result */

#ifndef __ASSEMBLER__
#include <stdint.h>

struct frame {
    uint64_t x[32];
    uint64_t epc, cause, tval, status;
    int64_t vec;
    uint64_t pad[3];
};

_Static_assert(sizeof(struct frame) == FRAME_SIZE, "frame layout");

/* traps_asm.S */
void m_trap_entry(void);
void m_vector_table(void);
void s_trap_entry(void);
void drop_from_m(long mode);          /* mret to `mode` at the return address */
void drop_from_s(void);               /* sret to U at the return address */
long call_va(uintptr_t va);           /* jalr to va; returns its a0 */
long user_call(uintptr_t va, long arg); /* S-mode: run va in U, see traps.c */
void user_call_return(void);
extern char user_page[], user_page_end[], user_load[], user_store[], user_ret7[];
long ret42(void);
#endif

#endif /* TRAPS_H */
