// SPDX-License-Identifier: GPL-2.0-only
/* Self-restoring injection frames and the gadgets they need: see sigframe.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cpuid.h>

#define LOG_PREFIX "sigframe: "
#include "log.h"
#include "sigframe.h"
#include "util.h"

/* arch/x86/include/uapi/asm/sigcontext.h: the magics of an extended (XSAVE) fpstate. */
#ifndef FP_XSTATE_MAGIC1
#define FP_XSTATE_MAGIC1 0x46505853u
#define FP_XSTATE_MAGIC2 0x46505845u
#endif
/* uapi/asm/ucontext.h: FPU state present; ss is saved and restored as is. */
#define UC_FP_XSTATE 0x1
#define UC_SIGCONTEXT_SS 0x2
#define UC_STRICT_RESTORE_SS 0x4
/* offset of fxregs_state.sw_reserved: NT_X86_XSTATE puts XCR0 there, a frame _fpx_sw_bytes */
#define FX_SW_OFF 464
/* the legacy area and the xsave header: where the extended components start */
#define XSAVE_HDR_END 576
#define XSAVE_XSTATE_BV 512
#define XFEATURE_XTILEDATA 18
#define SCAN_CHUNK (256 * 1024)
#define SCAN_OVERLAP 16

/* The 64-bit uapi struct sigcontext, spelt out: glibc's <signal.h> has its own. */
struct frame_sigcontext {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp, rip;
	uint64_t eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate;
	uint64_t reserved1[8];
};

struct frame_fpx_sw_bytes {
	uint32_t magic1, extended_size;
	uint64_t xfeatures;
	uint32_t xstate_size, padding[7];
};

/* arch/x86/include/asm/sigframe.h, struct rt_sigframe (64-bit), with the kernel's ucontext */
struct frame_rt {
	uint64_t pretcode;
	uint64_t uc_flags;
	uint64_t uc_link;
	struct {
		uint64_t ss_sp;
		int32_t ss_flags, pad;
		uint64_t ss_size;
	} uc_stack;
	struct frame_sigcontext uc_mcontext;
	uint64_t uc_sigmask; /* the kernel's sigset_t: 64 signals */
	uint8_t info[128]; /* siginfo: rt_sigreturn never reads it */
};

_Static_assert(sizeof(struct frame_sigcontext) == 256, "struct sigcontext is 256 bytes");
_Static_assert(__builtin_offsetof(struct frame_rt, uc_mcontext) == 48, "uc_mcontext at 8+40");
_Static_assert(__builtin_offsetof(struct frame_rt, uc_sigmask) == 304, "uc_sigmask at 8+296");
_Static_assert(sizeof(struct frame_sigcontext) - sizeof(uint64_t) * 8 == 192, "fpstate at 184");

static const uint8_t pat_sysret[] = { 0x0f, 0x05, 0xc3 };
static const uint8_t pat_restorer[] = { 0x48, 0xc7, 0xc0, 0x0f, 0x00, 0x00, 0x00, 0x0f, 0x05 };

/* One scanned r-x mapping: offsets of the gadgets from its start, -1 if absent. */
struct gadget_map {
	unsigned int maj, min;
	unsigned long ino;
	uint64_t pgoff, len;
	bool vdso;
	int64_t off_sysret, off_restorer;
};

static struct gadget_map *gcache;
static size_t gcache_n, gcache_cap;

static int64_t find_in(const uint8_t *buf, size_t n, const uint8_t *pat, size_t plen)
{
	const uint8_t *p = memmem(buf, n, pat, plen);

	return p ? p - buf : -1;
}

/* Read the mapping through /proc/PID/mem in chunks; stop once both gadgets are found. */
static int scan_map(int memfd, uint64_t start, struct gadget_map *g)
{
	_cleanup_free_ uint8_t *buf = malloc(SCAN_CHUNK);
	uint64_t off = 0;

	if (!buf)
		return -ENOMEM;
	g->off_sysret = g->off_restorer = -1;
	while (off < g->len && (g->off_sysret < 0 || g->off_restorer < 0)) {
		size_t want = MIN((uint64_t)SCAN_CHUNK, g->len - off);
		ssize_t n = pread(memfd, buf, want, (off_t)(start + off));
		int64_t f;

		if (n <= 0)
			return n < 0 ? -errno : -EIO;
		f = find_in(buf, (size_t)n, pat_sysret, sizeof(pat_sysret));
		if (g->off_sysret < 0 && f >= 0)
			g->off_sysret = (int64_t)off + f;
		f = find_in(buf, (size_t)n, pat_restorer, sizeof(pat_restorer));
		if (g->off_restorer < 0 && f >= 0)
			g->off_restorer = (int64_t)off + f;
		if ((size_t)n < want || off + (uint64_t)n >= g->len)
			break;
		off += (uint64_t)n - SCAN_OVERLAP; /* a pattern across two chunks is still seen */
	}
	return 0;
}

static struct gadget_map *cache_find(const struct gadget_map *k)
{
	size_t i;

	for (i = 0; i < gcache_n; i++) {
		struct gadget_map *g = &gcache[i];

		if (g->vdso == k->vdso && g->maj == k->maj && g->min == k->min &&
		    g->ino == k->ino && g->pgoff == k->pgoff && g->len == k->len)
			return g;
	}
	return NULL;
}

static struct gadget_map *cache_add(const struct gadget_map *k)
{
	if (gcache_n == gcache_cap) {
		size_t cap = gcache_cap ? 2 * gcache_cap : 16;
		struct gadget_map *n = realloc(gcache, cap * sizeof(*n));

		if (!n)
			return NULL;
		gcache = n;
		gcache_cap = cap;
	}
	gcache[gcache_n] = *k;
	return &gcache[gcache_n++];
}

/* One maps line: a file-backed or [vdso] r-x mapping fills *k and its start; else false. */
static bool parse_exec_line(const char *line, struct gadget_map *k, uint64_t *ret_start)
{
	unsigned long long s, e, pgoff;
	char perms[8];
	int name = 0;

	memset(k, 0, sizeof(*k));
	if (sscanf(line, "%llx-%llx %7s %llx %x:%x %lu %n", &s, &e, perms, &pgoff, &k->maj, &k->min,
		   &k->ino, &name) < 7)
		return false;
	if (perms[0] != 'r' || perms[2] != 'x')
		return false;
	k->vdso = !strncmp(line + name, "[vdso]", 6);
	if (!k->ino && !k->vdso)
		return false; /* anonymous code (a JIT) may change under us */
	k->pgoff = pgoff;
	k->len = e - s;
	*ret_start = s;
	return true;
}

int sigframe_find_gadgets(pid_t pid, uint64_t *ret_sysret, uint64_t *ret_restorer)
{
	_cleanup_fclose_ FILE *f = NULL;
	_cleanup_close_ int memfd = -1;
	uint64_t sysret = 0, restorer = 0;
	char path[64], line[4096 + 128];

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while ((!sysret || !restorer) && fgets(line, sizeof(line), f)) {
		struct gadget_map k, *g;
		uint64_t start;
		int err;

		if (!parse_exec_line(line, &k, &start))
			continue;
		g = cache_find(&k);
		if (!g) {
			if (memfd < 0) {
				snprintf(path, sizeof(path), "/proc/%d/mem", pid);
				memfd = open(path, O_RDONLY | O_CLOEXEC);
				if (memfd < 0)
					return -errno;
			}
			err = scan_map(memfd, start, &k);
			if (err)
				return err;
			g = cache_add(&k);
			if (!g)
				return -ENOMEM;
		}
		if (!sysret && g->off_sysret >= 0)
			sysret = start + (uint64_t)g->off_sysret;
		if (!restorer && g->off_restorer >= 0)
			restorer = start + (uint64_t)g->off_restorer;
	}
	if (!sysret || !restorer)
		return -ENOENT;
	*ret_sysret = sysret;
	*ret_restorer = restorer;
	return 0;
}

/*
 * The registers rt_sigreturn should give back. It sets orig_rax = -1, so the restart the
 * kernel would do when the task leaves its stop inside an interrupted syscall is done here,
 * as the kernel does it when no handler runs (arch_do_signal_or_restart()).
 */
static void frame_regs(struct frame_sigcontext *sc, const ptrace_regs_t *r)
{
	ptrace_regs_t x = *r;

	if ((long)x.orig_rax >= 0) {
		switch (-(long)x.rax) {
		case 512: /* ERESTARTSYS */
		case 513: /* ERESTARTNOINTR */
		case 514: /* ERESTARTNOHAND */
			x.rax = x.orig_rax;
			x.rip -= 2;
			break;
		case 516: /* ERESTART_RESTARTBLOCK: the restart block is still in the task */
			x.rax = 219; /* __NR_restart_syscall */
			x.rip -= 2;
			break;
		}
	}
	sc->r8 = x.r8, sc->r9 = x.r9, sc->r10 = x.r10, sc->r11 = x.r11;
	sc->r12 = x.r12, sc->r13 = x.r13, sc->r14 = x.r14, sc->r15 = x.r15;
	sc->rdi = x.rdi, sc->rsi = x.rsi, sc->rbp = x.rbp, sc->rbx = x.rbx;
	sc->rdx = x.rdx, sc->rax = x.rax, sc->rcx = x.rcx, sc->rsp = x.rsp, sc->rip = x.rip;
	sc->eflags = x.eflags;
	sc->cs = (uint16_t)x.cs;
	sc->ss = (uint16_t)x.ss;
}

/*
 * The _fpx_sw_bytes the kernel would have written: the features enabled in XCR0 (as the
 * regset reports them), minus AMX tile data the task never used (a dynamic feature, not in
 * the kernel's default signal frame size), and the size their standard-format layout needs
 * (CPUID leaf 0xD: each component's offset and size).
 */
static int frame_sw_bytes(const struct ptrace_xstate *xs, struct frame_fpx_sw_bytes *sw)
{
	uint64_t xcr0, bv;
	uint32_t size = XSAVE_HDR_END;
	int i;

	memcpy(&xcr0, xs->buf + FX_SW_OFF, sizeof(xcr0));
	memcpy(&bv, xs->buf + XSAVE_XSTATE_BV, sizeof(bv));
	if (!(bv & (1ULL << XFEATURE_XTILEDATA)))
		xcr0 &= ~(1ULL << XFEATURE_XTILEDATA);
	for (i = 2; i < 63; i++) {
		unsigned int a, b, c, d;

		if (!(xcr0 & (1ULL << i)))
			continue;
		__cpuid_count(0xd, i, a, b, c, d);
		if (a && b + a > size)
			size = b + a; /* eax: size, ebx: offset in the standard format */
	}
	if (size > xs->len)
		return -EINVAL;
	memset(sw, 0, sizeof(*sw));
	sw->magic1 = FP_XSTATE_MAGIC1;
	sw->xfeatures = xcr0;
	sw->xstate_size = size;
	sw->extended_size = size + sizeof(uint32_t);
	return 0;
}

int sigframe_build(const ptrace_regs_t *regs, uint64_t mask, const struct ptrace_xstate *xs,
		   uint64_t restorer, struct sigframe_img *ret)
{
	struct frame_fpx_sw_bytes sw;
	uint64_t top = regs->rsp - SIGFRAME_REDZONE, fp, frame, start;
	struct frame_rt fr = { 0 };
	uint32_t magic2 = FP_XSTATE_MAGIC2;
	uint8_t *buf;
	size_t len;

	int err;

	if (xs->len < XSAVE_HDR_END)
		return -EINVAL;
	err = frame_sw_bytes(xs, &sw);
	if (err)
		return err;
	/* the layout of the kernel's get_sigframe(): xsave area 64-aligned, frame below it */
	fp = (top - sw.extended_size) & ~63ULL;
	frame = ((fp - sizeof(fr)) & ~15ULL) - 8;
	start = (frame - SIGFRAME_SCRATCH) & ~63ULL;
	len = top - start;
	buf = calloc(1, len);
	if (!buf)
		return -ENOMEM;
	fr.pretcode = restorer;
	fr.uc_flags = UC_FP_XSTATE | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	/* an invalid mode: restore_altstack()'s do_sigaltstack() fails with EINVAL, ignored */
	fr.uc_stack.ss_flags = 0x7fff;
	frame_regs(&fr.uc_mcontext, regs);
	fr.uc_mcontext.fpstate = fp;
	fr.uc_sigmask = mask;
	memcpy(buf + (frame - start), &fr, sizeof(fr));
	memcpy(buf + (fp - start), xs->buf, sw.xstate_size);
	memcpy(buf + (fp - start) + FX_SW_OFF, &sw, sizeof(sw));
	memcpy(buf + (fp - start) + sw.xstate_size, &magic2, sizeof(magic2));
	ret->start = start;
	ret->frame = frame;
	ret->buf = buf;
	ret->len = len;
	return 0;
}

int sigframe_check_writable(pid_t pid, uint64_t start, uint64_t end)
{
	_cleanup_fclose_ FILE *f = NULL;
	char path[64], line[4096 + 128];

	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long s, e;
		char perms[8];

		if (sscanf(line, "%llx-%llx %7s", &s, &e, perms) != 3)
			continue;
		if (s <= start && start < e)
			return end <= e && perms[0] == 'r' && perms[1] == 'w' ? 0 : -EFAULT;
	}
	return -EFAULT;
}
