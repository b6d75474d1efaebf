/*
 * vbase/abi.h - the guest ABI of docs/abi.md, as C.  docs/abi.md is the
 * contract; this header and src/Vbase.Hypervisor/Abi/ mirror it.  Change
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

/* ---- The guest kernel's syscall for the paper's "kernel module" ---- */
#define VBASE_SYS_vbase 1024        /* vbase(va, len, op): op 0 enter, 1 exit */

#endif
