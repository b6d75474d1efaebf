/*
 * vbase/abi.h - the guest ABI of docs/abi.md, as C.  docs/abi.md is the
 * contract; this header and src/Vbase.Sapi/Abi/ mirror it.  Change
 * all three together.
 */
#ifndef VBASE_ABI_H
#define VBASE_ABI_H

#include <stdint.h>

/* ---- Guest memory layout (guest-physical addresses) ---------------- */
#define VBASE_RAM_BASE          0x80000000UL
#define VBASE_START_INFO_GPA    0x80001000UL  /* ram_ro */
#define VBASE_SHARED_INFO_GPA   0x80002000UL
#define VBASE_MODULES_GPA       0x80010000UL  /* .. 0x801FFFFF, ELF files, 8-byte aligned */
#define VBASE_MODULES_END       0x80200000UL
#define VBASE_KERNEL_GPA        0x80200000UL
#define VBASE_PAGE_SIZE         4096UL

/* ---- Errors (Xen's values, returned negated) ----------------------- */
#define VBASE_EPERM    1
#define VBASE_ENOENT   2
#define VBASE_ESRCH    3
#define VBASE_EAGAIN  11
#define VBASE_ENOMEM  12
#define VBASE_EFAULT  14
#define VBASE_EBUSY   16
#define VBASE_EINVAL  22
#define VBASE_ENOSYS  38

/* ---- Hypercall numbers (a7) ---------------------------------------- */
#define HYPERVISOR_memory_op         12
#define HYPERVISOR_set_timer_op      15
#define HYPERVISOR_console_io        18
#define HYPERVISOR_grant_table_op    20
#define HYPERVISOR_vcpu_op           24
#define HYPERVISOR_sched_op          29
#define HYPERVISOR_event_channel_op  32
#define HYPERVISOR_domctl            36
#define HYPERVISOR_vbase_op          64

/* memory_op (a0) */
#define MEMOP_ram_size     0
#define MEMOP_ram_base     1
#define MEMOP_map_foreign  100

/* console_io (a0) */
#define CONSOLEIO_write  0   /* a1 count, a2 buffer GPA -> count */
#define CONSOLEIO_read   1   /* a1 count, a2 buffer GPA -> bytes read */

/* vcpu_op (a0) */
#define VCPUOP_my_id     0
#define VCPUOP_count     1
#define VCPUOP_time      2   /* current time, ticks */

/* sched_op (a0) */
#define SCHEDOP_yield     0
#define SCHEDOP_block     1
#define SCHEDOP_shutdown  2   /* a1 reason, a2 exit code */
#define SHUTDOWN_poweroff 0
#define SHUTDOWN_reboot   1
#define SHUTDOWN_crash    3

/* event_channel_op (a0 cmd, arguments from a1) */
#define EVTCHNOP_bind_interdomain 0  /* a1 remote domid, a2 remote port -> port */
#define EVTCHNOP_bind_virq        1  /* a1 virq, a2 vcpu -> port */
#define EVTCHNOP_close            3  /* a1 port */
#define EVTCHNOP_send             4  /* a1 port */
#define EVTCHNOP_status           5  /* a1 port -> state */
#define EVTCHNOP_alloc_unbound    6  /* a1 remote domid -> port */
#define EVTCHNOP_unmask           9  /* a1 port */

#define EVTCHNSTAT_closed       0
#define EVTCHNSTAT_unbound      1
#define EVTCHNSTAT_interdomain  2
#define EVTCHNSTAT_virq         3

/* VIRQs */
#define VIRQ_TIMER    0
#define VIRQ_CONSOLE  2
#define VIRQ_DOM_EXC  3   /* to Dom0: a domain shut down */
#define VIRQ_ATTACK   6   /* from Dom0: a command is in the attack mailbox (Xen's VIRQ_DEBUGGER slot) */
#define VIRQ_VBASE   16   /* 16..23 reserved for plug-ins */

/* grant_table_op (a0) */
#define GNTTABOP_map_grant_ref    0
#define GNTTABOP_unmap_grant_ref  1
#define GNTTABOP_setup_table      2
#define GNTTABOP_copy             5
#define GNTTABOP_query_size       6

#define GTF_permit_access  (1u << 0)
#define GTF_readonly       (1u << 2)
#define GNTMAP_readonly    (1u << 0)   /* map_grant_ref a4 flags */
#define GNTCOPY_source_gref (1u << 0)
#define GNTCOPY_dest_gref   (1u << 1)

struct vbase_grant_entry {
    uint16_t flags;
    uint16_t domid;   /* who may map it */
    uint32_t gfn;     /* the granted frame */
};

struct vbase_gnttab_copy {
    uint32_t flags;
    uint16_t source_domid, dest_domid;
    uint64_t source, dest;          /* grant ref or GFN */
    uint32_t source_offset, dest_offset;
    uint32_t length;
    int32_t  status;                /* out */
};

/* vbase_op (a0) */
#define VBASEOP_enter  0   /* a1 GPA of a frame list (u64 GFNs), a2 count, a3 op, a4 VA */
#define VBASEOP_exit   1
#define VBASEOP_query  2   /* privileged */

/* ---- SBI ----------------------------------------------------------- */
#define SBI_EXT_BASE   0x10
#define SBI_EXT_TIME   0x54494D45
#define SBI_EXT_DBCN   0x4442434E
#define SBI_EXT_SRST   0x53525354   /* not answered by Vbase; QEMU/OpenSBI only */
#define SBI_LEGACY_SET_TIMER       0
#define SBI_LEGACY_CONSOLE_PUTCHAR 1
#define SBI_LEGACY_CONSOLE_GETCHAR 2
#define SBI_LEGACY_SHUTDOWN        8
#define SBI_ERR_NOT_SUPPORTED     (-2)

/* ---- Start info page (0x8000_1000) --------------------------------- */
#define VBASE_START_MAGIC "VBASEST1"
#define VBASE_MAX_MODULES 16

struct vbase_module {
    uint64_t gpa, size;
    char     name[48];
};                                                  /* 64 bytes */

struct vbase_start_info {
    char     magic[8];          /* "VBASEST1" */
    uint64_t domid, nr_vcpus;
    uint64_t ram_base, ram_size;
    uint64_t shared_info_gpa;
    uint64_t console_port;      /* reserved, 0 */
    uint64_t nr_modules;
    struct vbase_module modules[VBASE_MAX_MODULES];
    char     cmdline[256];
};

/* ---- Shared info page (0x8000_2000) -------------------------------- */
#define VBASE_NR_EVTCHN 256
#define VBASE_MAX_VCPUS 8

struct vbase_vcpu_info {
    uint8_t upcall_pending, upcall_mask, pad[6];
};

struct vbase_shared_info {
    uint64_t evtchn_pending[4];   /* bit p of word p/64 */
    uint64_t evtchn_mask[4];
    struct vbase_vcpu_info vcpu_info[VBASE_MAX_VCPUS];
};

_Static_assert(sizeof(struct vbase_module) == 64, "vbase_module is 64 bytes");
_Static_assert(sizeof(struct vbase_start_info) == 64 + 16 * 64 + 256, "start info layout");
_Static_assert(sizeof(struct vbase_shared_info) == 128, "shared info layout");

/* ---- The guest kernel's attack mailbox (docs/abi.md, "Attack mailbox") ----
 * A page-aligned 4 KiB global of the guest kernel, ELF symbol
 * vbase_attack_mailbox.  Dom0 writes a command into it and sends
 * VIRQ_ATTACK; the kernel performs it when seq != done_seq and sets
 * done_seq = seq last.  Not part of the hypervisor's ABI: a contract
 * between the guest kernel and the attack suite's Controller. */
#define VBASE_ATTACK_MAGIC     0x4B544156u  /* "VATK" little-endian: set at boot once VIRQ_ATTACK is bound */
#define VBASE_ATTACK_DATA_MAX  2048
#define VBASE_ATTACK_MAX_GFNS  64

#define ATTACKOP_read          1   /* kernel load of len bytes at a process's va */
#define ATTACKOP_write         2   /* kernel store of len bytes at a process's va */
#define ATTACKOP_remap         3   /* point the process's PTE for va at a fresh page filled with data */
#define ATTACKOP_foreign_sweep 4   /* try every unprivileged hypercall on another domain's frames */

struct vbase_attack_mailbox {
    uint32_t magic;                 /*    0 */
    uint32_t seq;                   /*    4 Controller increments to post */
    uint32_t op;                    /*    8 */
    int32_t  pid;                   /*   12 0 = the last caller of vbase(enter) */
    uint64_t va;                    /*   16 */
    uint32_t len;                   /*   24 <= 2048, read/write */
    uint32_t done_seq;              /*   28 written last */
    int64_t  result;                /*   32 */
    uint64_t gfn_before;            /*   40 */
    uint64_t gfn_after;             /*   48 */
    uint16_t target_domid;          /*   56 */
    uint16_t gfn_count;             /*   58 */
    uint32_t reserved;              /*   60 */
    uint64_t gfns[VBASE_ATTACK_MAX_GFNS];   /*   64 */
    int64_t  codes[VBASE_ATTACK_MAX_GFNS];  /*  576 */
    uint32_t attempts;              /* 1088 */
    uint32_t obtained;              /* 1092 */
    uint8_t  pad[2048 - 1096];      /* 1096 */
    uint8_t  data[VBASE_ATTACK_DATA_MAX];   /* 2048 */
};

_Static_assert(sizeof(struct vbase_attack_mailbox) == 4096, "attack mailbox is one page");
_Static_assert(__builtin_offsetof(struct vbase_attack_mailbox, done_seq) == 28, "attack mailbox layout");
_Static_assert(__builtin_offsetof(struct vbase_attack_mailbox, result) == 32, "attack mailbox layout");
_Static_assert(__builtin_offsetof(struct vbase_attack_mailbox, target_domid) == 56, "attack mailbox layout");
_Static_assert(__builtin_offsetof(struct vbase_attack_mailbox, gfns) == 64, "attack mailbox layout");
_Static_assert(__builtin_offsetof(struct vbase_attack_mailbox, codes) == 576, "attack mailbox layout");
_Static_assert(__builtin_offsetof(struct vbase_attack_mailbox, attempts) == 1088, "attack mailbox layout");
_Static_assert(__builtin_offsetof(struct vbase_attack_mailbox, obtained) == 1092, "attack mailbox layout");
_Static_assert(__builtin_offsetof(struct vbase_attack_mailbox, data) == 2048, "attack mailbox layout");

/* ---- The guest kernel's syscall for the paper's "kernel module" ---- */
#define VBASE_SYS_vbase 1024        /* vbase(va, len, op): op 0 enter, 1 exit */

#endif
