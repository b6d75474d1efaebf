// SPDX-License-Identifier: GPL-2.0
/*
 * vbase.ko - the paper's kernel module (Listing 4) for the Vbase Linux
 * guest, and the guest-kernel attack mailbox.
 *
 * /dev/vbase (a misc device; vbase-ioctl.h): VBASE_IOC_ENTER pins the
 * caller's pages with pin_user_pages_fast (so they can be neither moved
 * nor freed while the hypervisor protects them), takes each page's PFN
 * (page_to_pfn: in a guest, a PFN is the GFN), writes the frame list into
 * a page of kernel memory and makes the vbase_op hypercall: ecall with
 * a7 = HYPERVISOR_vbase_op, a0 = op, a1 = the list's GPA, a2 = count,
 * a3 = op, a4 = the region's VA -- the small kernel's vbase syscall, same
 * registers.  The numbers come from vbase/abi.h, generated from abi.yaml.
 * a7 = 64 is no SBI extension (those are < 9 or >= 0x100000), so the
 * hypervisor's door answers it as a hypercall.
 *
 * The attack mailbox (struct vbase_attack_mailbox): a zeroed kernel page
 * with VBASE_ATTACK_MAGIC and, in self_gfn, its own GFN, which is how
 * Dom0's Controller finds it (it scans the domain's RAM for a page that
 * carries both; the small kernel's is found by its ELF symbol instead).
 * Linux binds no Vbase event channel, so VIRQ_ATTACK reaches no handler:
 * a delayed work item polls the mailbox every jiffy instead (4 ms: 40,000
 * instructions at HZ=250), and while a region is entered, when attacks
 * fire, an hrtimer looks every POLL_NS and queues the work at once if a
 * command is posted (a short application such as the paper's would end
 * before the next jiffy).  Virtual time advances one tick per instruction,
 * so the polls happen at the same instruction in every run
 * (deterministic); the work runs in a kworker, which may sleep, as the
 * page-table helpers below need.  Every access is kernel code's own:
 * the linear map, through the p2m and the plugged-in architecture; the
 * *_nofault copies turn an access fault into -EACCES (as the small
 * kernel's kcopy), never an oops.
 */
#include <linux/fs.h>
#include <linux/gfp.h>
#include <linux/hrtimer.h>
#include <linux/io.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/moduleparam.h>
#include <linux/pid.h>
#include <linux/reboot.h>
#include <linux/sched/mm.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/workqueue.h>
#include <asm/tlbflush.h>

#include "vbase/abi.h"
#include "vbase-ioctl.h"

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Vbase: the paper's kernel module (vbase_op) and the guest-kernel attack mailbox");

static long hypercall5(long nr, long a0, long a1, long a2, long a3, long a4)
{
	register long r_a0 asm("a0") = a0;
	register long r_a1 asm("a1") = a1;
	register long r_a2 asm("a2") = a2;
	register long r_a3 asm("a3") = a3;
	register long r_a4 asm("a4") = a4;
	register long r_a7 asm("a7") = nr;

	asm volatile("ecall"
		     : "+r"(r_a0)
		     : "r"(r_a1), "r"(r_a2), "r"(r_a3), "r"(r_a4), "r"(r_a7)
		     : "memory");
	return r_a0;
}

/* ---- the domain's exit code ----------------------------------------------- */

/* /init writes its command's exit status here; at power-off the module
   hands it to the hypervisor (sched_op shutdown, SHUTDOWN_poweroff, code),
   so a Linux App VM ends with its application's exit code, as the small
   kernel's does (an SBI shutdown carries none). */
static int exit_code;
module_param(exit_code, int, 0644);
MODULE_PARM_DESC(exit_code, "the domain's exit code at power-off (/init: its command's exit status)");

static int vbase_power_off(struct sys_off_data *data)
{
	hypercall5(HYPERVISOR_sched_op, SCHEDOP_shutdown, SHUTDOWN_poweroff, exit_code, 0, 0);
	return NOTIFY_DONE;	/* not reached: the domain is shut down */
}

static struct sys_off_handler *power_off;

/* ---- /dev/vbase --------------------------------------------------------- */

/* One region per open file: what ENTER pinned, for EXIT (or release). */
struct vbase_file {
	struct mutex lock;
	struct page **pages;
	u64 *frames;		/* the frame list the hypervisor reads: one page */
	unsigned long count;
	u64 va;
};

static DEFINE_MUTEX(last_enter_lock);
static void regions_changed(int delta);
static struct pid *last_enter;	/* the process that most recently entered */

static long vbase_call(struct vbase_file *f, unsigned long op)
{
	return hypercall5(HYPERVISOR_vbase_op, op, virt_to_phys(f->frames), f->count, op, f->va);
}

static void vbase_release_region(struct vbase_file *f)
{
	regions_changed(-1);
	unpin_user_pages(f->pages, f->count);
	kfree(f->pages);
	f->pages = NULL;
	f->count = 0;
}

static long vbase_enter(struct vbase_file *f, const struct vbase_ioc_region *r)
{
	unsigned long i, n;
	long got, rc;

	if ((r->va | r->len) & ~PAGE_MASK || r->len == 0 || r->len / PAGE_SIZE > VBASE_MAX_FRAMES ||
	    r->va + r->len < r->va || r->va + r->len > TASK_SIZE)
		return -EINVAL;
	if (f->pages)
		return -EBUSY;
	n = r->len / PAGE_SIZE;
	f->pages = kcalloc(n, sizeof(*f->pages), GFP_KERNEL);
	if (!f->pages)
		return -ENOMEM;
	/* FOLL_WRITE: the application's own private pages, faulted in and
	   unshared now; FOLL_LONGTERM: they stay where they are until EXIT. */
	got = pin_user_pages_fast(r->va, n, FOLL_WRITE | FOLL_LONGTERM, f->pages);
	if (got < 0 || (unsigned long)got < n) {
		if (got > 0)
			unpin_user_pages(f->pages, got);
		kfree(f->pages);
		f->pages = NULL;
		pr_info("vbase: enter 0x%llx len %llu: a page is not mapped writable -> %d\n",
			r->va, r->len, -EFAULT);
		return -EFAULT;
	}
	for (i = 0; i < n; i++)
		f->frames[i] = page_to_pfn(f->pages[i]);
	f->count = n;
	f->va = r->va;
	mutex_lock(&last_enter_lock);
	put_pid(last_enter);
	last_enter = get_pid(task_tgid(current));
	mutex_unlock(&last_enter_lock);
	regions_changed(1);
	rc = vbase_call(f, VBASEOP_enter);
	pr_info("vbase: enter 0x%llx len %llu by pid %d: %lu frames from pfn 0x%llx -> %ld\n", r->va, r->len,
		task_tgid_vnr(current), n, f->frames[0], rc);
	if (rc < 0)
		vbase_release_region(f);
	return rc;
}

static long vbase_exit(struct vbase_file *f, const struct vbase_ioc_region *r)
{
	long rc;

	if (!f->pages)
		return -EINVAL;
	if (r && (r->va != f->va || r->len != f->count * PAGE_SIZE))
		return -EINVAL;
	rc = vbase_call(f, VBASEOP_exit);
	pr_info("vbase: exit 0x%llx len %lu by pid %d -> %ld\n", f->va, f->count * PAGE_SIZE,
		task_tgid_vnr(current), rc);
	vbase_release_region(f);
	return rc;
}

static long vbase_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct vbase_file *f = file->private_data;
	struct vbase_ioc_region r;
	long rc;

	if (cmd != VBASE_IOC_ENTER && cmd != VBASE_IOC_EXIT)
		return -ENOTTY;
	if (copy_from_user(&r, (const void __user *)arg, sizeof(r)))
		return -EFAULT;
	mutex_lock(&f->lock);
	rc = cmd == VBASE_IOC_ENTER ? vbase_enter(f, &r) : vbase_exit(f, &r);
	mutex_unlock(&f->lock);
	return rc;
}

static int vbase_open(struct inode *inode, struct file *file)
{
	struct vbase_file *f = kzalloc(sizeof(*f), GFP_KERNEL);

	if (!f)
		return -ENOMEM;
	f->frames = (u64 *)get_zeroed_page(GFP_KERNEL);
	if (!f->frames) {
		kfree(f);
		return -ENOMEM;
	}
	mutex_init(&f->lock);
	file->private_data = f;
	return 0;
}

/* A process that dies inside its region leaves it here: the frames become
   ordinary memory again before Linux may reuse them. */
static int vbase_release(struct inode *inode, struct file *file)
{
	struct vbase_file *f = file->private_data;

	if (f->pages)
		vbase_exit(f, NULL);
	free_page((unsigned long)f->frames);
	kfree(f);
	return 0;
}

static const struct file_operations vbase_fops = {
	.owner = THIS_MODULE,
	.open = vbase_open,
	.release = vbase_release,
	.unlocked_ioctl = vbase_ioctl,
};

static struct miscdevice vbase_dev = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "vbase",
	.fops = &vbase_fops,
	.mode = 0666,
};

/* ---- the attack mailbox ------------------------------------------------- */

static struct vbase_attack_mailbox *mailbox;
static void attack_poll(struct work_struct *work);
static DECLARE_DELAYED_WORK(attack_work, attack_poll);

/* 500 us of virtual time: 5,000 instructions between looks while a region
   is entered (a look costs a timer interrupt, a few hundred). */
#define POLL_NS 500000
static struct hrtimer kick;
static atomic_t entered_regions = ATOMIC_INIT(0);

static enum hrtimer_restart kick_poll(struct hrtimer *t)
{
	if (READ_ONCE(mailbox->seq) != READ_ONCE(mailbox->done_seq))
		mod_delayed_work(system_highpri_wq, &attack_work, 0);
	if (atomic_read(&entered_regions) <= 0)
		return HRTIMER_NORESTART;
	hrtimer_forward_now(t, ns_to_ktime(POLL_NS));
	return HRTIMER_RESTART;
}

static void regions_changed(int delta)
{
	if (atomic_add_return(delta, &entered_regions) == 1 && delta > 0 && !hrtimer_active(&kick))
		hrtimer_start(&kick, ns_to_ktime(POLL_NS), HRTIMER_MODE_REL);
}

/* The mm of process pid (0: the one that most recently entered), with a
   reference; NULL if there is none.  *resolved = the pid looked for. */
static struct mm_struct *target_mm(int pid, int *resolved)
{
	struct task_struct *t = NULL;
	struct mm_struct *mm = NULL;

	mutex_lock(&last_enter_lock);
	if (pid == 0 && last_enter)
		t = get_pid_task(last_enter, PIDTYPE_PID);
	mutex_unlock(&last_enter_lock);
	if (pid > 0) {
		struct pid *p = find_get_pid(pid);

		t = get_pid_task(p, PIDTYPE_PID);
		put_pid(p);
	}
	if (t) {
		*resolved = task_tgid_vnr(t);
		mm = get_task_mm(t);
		put_task_struct(t);
	}
	return mm;
}

/* A kernel copy that an access fault ends with -EFAULT instead of an oops
   (the exception table of __get/__put_kernel_nofault; the kernel's
   copy_to_kernel_nofault is not exported to modules; only the victim's
   side of the copy is guarded): 8 bytes at a time
   where both sides allow it, so a line is written as kernel code would. */
static long kcopy(void *dst, const void *src, size_t n, bool to_victim)
{
	u8 *d = dst;
	const u8 *s = src;

	while (n) {
		if (n >= 8 && !(((unsigned long)d | (unsigned long)s) & 7)) {
			if (to_victim)
				__put_kernel_nofault(d, s, u64, fault);
			else
				__get_kernel_nofault(d, s, u64, fault);
			n -= 8, d += 8, s += 8;
		} else {
			if (to_victim)
				__put_kernel_nofault(d, s, u8, fault);
			else
				__get_kernel_nofault(d, s, u8, fault);
			n--, d++, s++;
		}
	}
	return 0;
fault:
	return -EFAULT;
}

/* ops 1 and 2: len bytes at the process's va, through the kernel's linear
   map of the page its page table names. */
static long attack_rw(struct vbase_attack_mailbox *m, int write, int *pid)
{
	struct mm_struct *mm;
	struct page *page;
	void *k;
	long got, r;

	if (m->len > VBASE_ATTACK_DATA_MAX || (m->va & ~PAGE_MASK) + m->len > PAGE_SIZE)
		return -EINVAL;
	mm = target_mm(m->pid, pid);
	if (!mm)
		return -ESRCH;
	mmap_read_lock(mm);
	got = get_user_pages_remote(mm, m->va & PAGE_MASK, 1, write ? FOLL_WRITE | FOLL_FORCE : FOLL_FORCE,
				    &page, NULL, NULL);
	mmap_read_unlock(mm);
	mmput(mm);
	if (got != 1)
		return -EFAULT;
	m->gfn_before = page_to_pfn(page);
	k = page_address(page) + (m->va & ~PAGE_MASK);
	r = write ? kcopy(k, m->data, m->len, true) : kcopy(m->data, k, m->len, false);
	put_page(page);
	return r < 0 ? -EACCES : (long)m->len;
}

/* op 3: a fresh page whose two halves are data[], put under va in place of
   the frame the process had (same PTE bits), by the kernel's own page-table
   walk (set_pte: the page is data, no icache to flush).  The new PTE is special in a VM_MIXEDMAP vma, so that unmapping it
   later leaves the page alone (it has no rmap); the old frame is not freed:
   it stays whatever the architecture made of it. */
static long attack_remap(struct vbase_attack_mailbox *m, int *pid)
{
	struct vm_area_struct *vma;
	struct mm_struct *mm;
	struct page *fresh;
	unsigned long va = m->va & PAGE_MASK;
	spinlock_t *ptl;
	pgd_t *pgd;
	p4d_t *p4d;
	pud_t *pud;
	pmd_t *pmd;
	pte_t *pte;
	long r = -EFAULT;

	mm = target_mm(m->pid, pid);
	if (!mm)
		return -ESRCH;
	fresh = alloc_page(GFP_KERNEL | __GFP_ZERO);
	if (!fresh) {
		mmput(mm);
		return -ENOMEM;
	}
	memcpy(page_address(fresh), m->data, VBASE_ATTACK_DATA_MAX);
	memcpy(page_address(fresh) + VBASE_ATTACK_DATA_MAX, m->data, VBASE_ATTACK_DATA_MAX);
	mmap_write_lock(mm);
	vma = find_vma(mm, va);
	if (!vma || vma->vm_start > va)
		goto out;
	pgd = pgd_offset(mm, va);
	if (pgd_none(*pgd) || pgd_bad(*pgd))
		goto out;
	p4d = p4d_offset(pgd, va);
	if (p4d_none(*p4d) || p4d_bad(*p4d))
		goto out;
	pud = pud_offset(p4d, va);
	if (pud_none(*pud) || pud_bad(*pud))
		goto out;
	pmd = pmd_offset(pud, va);
	if (pmd_none(*pmd) || pmd_bad(*pmd))
		goto out;
	pte = pte_offset_map_lock(mm, pmd, va, &ptl);
	if (pte_present(*pte)) {
		m->gfn_before = pte_pfn(*pte);
		vma->vm_flags |= VM_MIXEDMAP;
		/* the old PTE's bits below the PPN (as the small kernel keeps them) */
		set_pte(pte,
			   pte_mkspecial(pfn_pte(page_to_pfn(fresh),
						 __pgprot(pte_val(*pte) & ((1UL << _PAGE_PFN_SHIFT) - 1)))));
		m->gfn_after = page_to_pfn(fresh);
		r = 0;
	}
	pte_unmap_unlock(pte, ptl);
	/* This vCPU's TLB (flush_tlb_page is not exported; the App VM has one
	   vCPU, and the process is not running while its kworker is). */
	if (r == 0)
		local_flush_tlb_page(va);
out:
	mmap_write_unlock(mm);
	mmput(mm);
	if (r < 0)
		__free_page(fresh);
	return r;
}

/* Performs the posted command, if there is one (seq != done_seq), then
   polls again a jiffy later. */
static void attack_poll(struct work_struct *work)
{
	volatile struct vbase_attack_mailbox *vm = mailbox;
	struct vbase_attack_mailbox *m = mailbox;
	u32 seq = vm->seq;
	int pid;
	long r;

	if (seq != vm->done_seq) {
		smp_rmb();
		pid = m->pid;
		m->gfn_before = 0;
		m->gfn_after = 0;
		m->attempts = m->obtained = 0;
		switch (m->op) {
		case ATTACKOP_read:
		case ATTACKOP_write:
			r = attack_rw(m, m->op == ATTACKOP_write, &pid);
			pr_info("vbase: attack %s pid %d va 0x%llx gfn 0x%llx len %u -> %ld\n",
				m->op == ATTACKOP_write ? "write" : "read", pid, m->va, m->gfn_before, m->len, r);
			break;
		case ATTACKOP_remap:
			r = attack_remap(m, &pid);
			pr_info("vbase: attack remap pid %d va 0x%llx gfn 0x%llx new gfn 0x%llx -> %ld\n", pid, m->va,
				m->gfn_before, m->gfn_after, r);
			break;
		default:
			/* foreign-sweep is the attacker VM's (a small-kernel domain), not the App VM's. */
			r = -EOPNOTSUPP;
			pr_info("vbase: attack op %u -> %ld\n", m->op, r);
			break;
		}
		m->result = r;
		smp_wmb();
		vm->done_seq = seq;
	}
	queue_delayed_work(system_highpri_wq, &attack_work, 1);
}

static int __init vbase_init(void)
{
	int rc;

	mailbox = (struct vbase_attack_mailbox *)get_zeroed_page(GFP_KERNEL);
	if (!mailbox)
		return -ENOMEM;
	rc = misc_register(&vbase_dev);
	if (rc) {
		free_page((unsigned long)mailbox);
		return rc;
	}
	/* Before the SBI's own power-off (default priority), which has no exit code. */
	power_off = register_sys_off_handler(SYS_OFF_MODE_POWER_OFF, SYS_OFF_PRIO_FIRMWARE, vbase_power_off, NULL);
	if (IS_ERR(power_off))
		power_off = NULL;
	mailbox->self_gfn = (u32)(virt_to_phys(mailbox) >> PAGE_SHIFT);
	smp_wmb();
	mailbox->magic = VBASE_ATTACK_MAGIC;
	hrtimer_init(&kick, CLOCK_MONOTONIC, HRTIMER_MODE_REL);
	kick.function = kick_poll;
	queue_delayed_work(system_highpri_wq, &attack_work, 1);
	pr_info("vbase: /dev/vbase ready; attack mailbox at 0x%llx\n", (u64)virt_to_phys(mailbox));
	return 0;
}

static void __exit vbase_cleanup(void)
{
	if (power_off)
		unregister_sys_off_handler(power_off);
	misc_deregister(&vbase_dev);
	hrtimer_cancel(&kick);
	cancel_delayed_work_sync(&attack_work);
	mailbox->magic = 0;
	free_page((unsigned long)mailbox);
	mutex_lock(&last_enter_lock);
	put_pid(last_enter);
	last_enter = NULL;
	mutex_unlock(&last_enter_lock);
}

module_init(vbase_init);
module_exit(vbase_cleanup);
