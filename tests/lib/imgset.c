// SPDX-License-Identifier: GPL-2.0-only
/*
 * A small but complete synthetic image set, written through the img API, for the crit and
 * `crux show` tests.
 *
 * Two tasks: 100 (root, ppid 0) and its child 101 with a second thread 102. Between them: a
 * log file, a pipe with queued bytes, an internal stream socketpair with queued bytes, a
 * named listener, and a datagram socket connected to the external /dev/log (an extern peer
 * entry in files.img plus its crux-ext.img record). Every file id referenced exists.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "img.h"
#include "imgset.h"
#include "util.h"

#include "core.pb-c.h"
#include "crux_ext.pb-c.h"
#include "crux_task.pb-c.h"
#include "fdinfo.pb-c.h"
#include "fs.pb-c.h"
#include "ids.pb-c.h"
#include "inventory.pb-c.h"
#include "mm.pb-c.h"
#include "pagemap.pb-c.h"
#include "pipe_data.pb-c.h"
#include "pstree.pb-c.h"
#include "sk_packet.pb-c.h"

#define PAGE 4096ul
#define MAP_PRIVATE_ 0x02
#define MAP_ANON_ 0x20
#define MAP_GROWSDOWN_ 0x100
#define VMA_REGULAR (1u << 0)
#define VMA_VSYSCALL (1u << 2)
#define VMA_VDSO (1u << 3)
#define VMA_HEAP (1u << 5)
#define VMA_FILE_PRIVATE (1u << 6)
#define VMA_ANON_PRIVATE (1u << 9)
#define VMA_VVAR (1u << 12)
#define PE_PRESENT 4

static FownEntry fown = FOWN_ENTRY__INIT;
static SkOptsEntry sk_opts = SK_OPTS_ENTRY__INIT;

static int write_msgs(int dfd, enum img_type t, unsigned long key, ProtobufCMessage **msgs,
		      size_t n)
{
	struct img *img = NULL;
	size_t i;
	int err;

	err = img__open(dfd, t, key, IMG_WRITE, &img);
	for (i = 0; !err && i < n; i++)
		err = img_write_one(img, msgs[i]);
	if (err) {
		img__close(img);
		return err;
	}
	return img__close(img);
}

static int write_one(int dfd, enum img_type t, unsigned long key, ProtobufCMessage *msg)
{
	return write_msgs(dfd, t, key, &msg, 1);
}

static int write_pstree(int dfd)
{
	static uint32_t th100[] = { 100 }, th101[] = { 101, 102 };
	PstreeEntry a = PSTREE_ENTRY__INIT, b = PSTREE_ENTRY__INIT;
	ProtobufCMessage *m[] = { &a.base, &b.base };

	a.pid = 100;
	a.ppid = 0; /* the root of a dump, whatever its real parent */
	a.pgid = a.sid = 100;
	a.n_threads = 1;
	a.threads = th100;
	b.pid = 101;
	b.ppid = 100;
	b.pgid = b.sid = 100;
	b.n_threads = 2;
	b.threads = th101;
	return write_msgs(dfd, IMG_PSTREE, 0, m, 2);
}

static void ids_fill(TaskKobjIdsEntry *ids, uint32_t id)
{
	ids->vm_id = ids->files_id = ids->fs_id = ids->sighand_id = id;
}

/* One core per thread; the leader's carries tc (comm, sigactions). */
static int write_core(int dfd, uint32_t tid, const char *comm, bool leader, uint32_t ids_id)
{
	static uint32_t st[32], xmm[64];
	UserX86RegsEntry regs = USER_X86_REGS_ENTRY__INIT;
	UserX86FpregsEntry fp = USER_X86_FPREGS_ENTRY__INIT;
	ThreadInfoX86 ti = THREAD_INFO_X86__INIT;
	TaskCoreEntry tc = TASK_CORE_ENTRY__INIT;
	ThreadCoreEntry th = THREAD_CORE_ENTRY__INIT;
	TaskKobjIdsEntry ids = TASK_KOBJ_IDS_ENTRY__INIT;
	CoreEntry core = CORE_ENTRY__INIT;
	SaEntry sa[62], *sap[62];
	int i;

	regs.ip = 0x401136;
	regs.sp = 0x7ffffffde000 - 0x100;
	regs.cs = 0x33;
	regs.ss = 0x2b;
	regs.flags = 0x246;
	regs.orig_ax = (uint64_t)-1;
	fp.mxcsr = 0x1f80;
	fp.cwd = 0x37f;
	fp.n_st_space = 32;
	fp.st_space = st;
	fp.n_xmm_space = 64;
	fp.xmm_space = xmm;
	ti.gpregs = &regs;
	ti.fpregs = &fp;
	th.futex_rla = 0x7ffff7d8fa20;
	th.futex_rla_len = 24;
	th.comm = (char *)comm;
	ids_fill(&ids, ids_id);
	core.mtype = CORE_ENTRY__MARCH__X86_64;
	core.thread_info = &ti;
	core.thread_core = &th;
	if (leader) {
		for (i = 0; i < 62; i++) {
			sa_entry__init(&sa[i]);
			sap[i] = &sa[i];
		}
		tc.task_state = 1;
		tc.comm = (char *)comm;
		tc.n_sigactions = 62;
		tc.sigactions = sap;
		core.tc = &tc;
		core.ids = &ids;
	}
	return write_one(dfd, IMG_CORE, tid, &core.base);
}

static int write_task_small(int dfd, uint32_t pid, uint32_t ids_id)
{
	TaskKobjIdsEntry ids = TASK_KOBJ_IDS_ENTRY__INIT;
	FsEntry fs = FS_ENTRY__INIT;
	int err;

	ids_fill(&ids, ids_id);
	fs.cwd_id = 1;
	fs.root_id = 2;
	fs.has_umask = 1;
	fs.umask = 022;
	err = write_one(dfd, IMG_IDS, pid, &ids.base);
	return err ?: write_one(dfd, IMG_FS, pid, &fs.base);
}

static void vma(VmaEntry *v, uint64_t start, uint64_t npages, uint32_t prot, uint32_t flags,
		uint32_t status, uint64_t shmid, uint64_t pgoff)
{
	vma_entry__init(v);
	v->start = start;
	v->end = start + npages * PAGE;
	v->prot = prot;
	v->flags = flags;
	v->status = status;
	v->shmid = shmid;
	v->pgoff = pgoff;
	v->fd = -1;
}

static int write_mm(int dfd, uint32_t pid)
{
	VmaEntry v[8], *vp[8];
	MmEntry mm = MM_ENTRY__INIT;
	int i = 0;

	vma(&v[i++], 0x400000, 1, 5, MAP_PRIVATE_, VMA_REGULAR | VMA_FILE_PRIVATE, 3, 0);
	vma(&v[i++], 0x401000, 1, 3, MAP_PRIVATE_, VMA_REGULAR | VMA_FILE_PRIVATE, 3, 0x1000);
	vma(&v[i++], 0x602000, 2, 3, MAP_PRIVATE_ | MAP_ANON_,
	    VMA_REGULAR | VMA_HEAP | VMA_ANON_PRIVATE, 0, 0);
	vma(&v[i++], 0x7ffff7dd0000, 4, 5, MAP_PRIVATE_, VMA_REGULAR | VMA_FILE_PRIVATE, 4, 0);
	vma(&v[i++], 0x7ffff7fc1000, 4, 1, MAP_PRIVATE_ | MAP_ANON_,
	    VMA_REGULAR | VMA_VVAR | VMA_ANON_PRIVATE, 0, 0);
	vma(&v[i++], 0x7ffff7fc5000, 2, 5, MAP_PRIVATE_ | MAP_ANON_,
	    VMA_REGULAR | VMA_VDSO | VMA_ANON_PRIVATE, 0, 0);
	vma(&v[i++], 0x7ffffffde000, 33, 3, MAP_PRIVATE_ | MAP_ANON_ | MAP_GROWSDOWN_,
	    VMA_REGULAR | VMA_ANON_PRIVATE, 0, 0);
	vma(&v[i++], 0xffffffffff600000, 1, 4, MAP_PRIVATE_ | MAP_ANON_,
	    VMA_VSYSCALL | VMA_ANON_PRIVATE, 0, 0);
	for (i = 0; i < 8; i++)
		vp[i] = &v[i];
	mm.mm_start_code = 0x400000;
	mm.mm_end_code = 0x401000;
	mm.mm_start_data = 0x401000;
	mm.mm_end_data = 0x402000;
	mm.mm_start_brk = 0x602000;
	mm.mm_brk = 0x604000;
	mm.mm_start_stack = 0x7fffffffe000;
	mm.exe_file_id = 3;
	mm.n_vmas = 8;
	mm.vmas = vp;
	return write_one(dfd, IMG_MM, pid, &mm.base);
}

/* Two heap pages and the top stack page, in pages-<pages_id>.img. */
static int write_pages(int dfd, uint32_t pid, uint32_t pages_id)
{
	PagemapHead head = PAGEMAP_HEAD__INIT;
	PagemapEntry heap = PAGEMAP_ENTRY__INIT, stack = PAGEMAP_ENTRY__INIT;
	ProtobufCMessage *m[] = { &head.base, &heap.base, &stack.base };
	static uint8_t page[PAGE];
	struct img *img = NULL;
	int i, err;

	head.pages_id = pages_id;
	heap.vaddr = 0x602000;
	heap.compat_nr_pages = 2;
	stack.vaddr = 0x7fffffffe000;
	stack.compat_nr_pages = 1;
	heap.has_nr_pages = stack.has_nr_pages = heap.has_flags = stack.has_flags = 1;
	heap.nr_pages = 2;
	stack.nr_pages = 1;
	heap.flags = stack.flags = PE_PRESENT;
	err = write_msgs(dfd, IMG_PAGEMAP, pid, m, 3);
	if (err)
		return err;
	err = img__open(dfd, IMG_PAGES, pages_id, IMG_WRITE, &img);
	for (i = 0; !err && i < 3; i++) {
		memset(page, 'a' + i, sizeof(page));
		err = img_write_payload(img, page, sizeof(page));
	}
	if (err) {
		img__close(img);
		return err;
	}
	return img__close(img);
}

/* Storage for the files.img entries (static: too big for the stack of a test thread). */
static struct files_buf {
	RegFileEntry reg[8];
	PipeEntry pipe[2];
	UnixSkEntry usk[6];
	FileEntry f[16];
	int n_reg, n_pipe, n_usk, n;
} fb;

static FileEntry *file_new(FdTypes type, uint32_t id)
{
	FileEntry *f = &fb.f[fb.n++];

	file_entry__init(f);
	f->type = type;
	f->id = id;
	return f;
}

static FileEntry *reg(uint32_t id, const char *name, uint32_t flags, uint64_t pos)
{
	FileEntry *f = file_new(FD_TYPES__REG, id);
	RegFileEntry *e = &fb.reg[fb.n_reg++];

	reg_file_entry__init(e);
	e->id = id;
	e->name = (char *)name;
	e->flags = flags;
	e->pos = pos;
	e->fown = &fown;
	f->reg = e;
	return f;
}

static FileEntry *pipe_end(uint32_t id, uint32_t pipe_id, uint32_t flags)
{
	FileEntry *f = file_new(FD_TYPES__PIPE, id);
	PipeEntry *p = &fb.pipe[fb.n_pipe++];

	pipe_entry__init(p);
	p->id = id;
	p->pipe_id = pipe_id;
	p->flags = flags;
	p->fown = &fown;
	f->pipe = p;
	return f;
}

static FileEntry *usk(uint32_t id, uint32_t ino, uint32_t type, uint32_t state, uint32_t peer,
		      const char *name, size_t name_len)
{
	FileEntry *f = file_new(FD_TYPES__UNIXSK, id);
	UnixSkEntry *u = &fb.usk[fb.n_usk++];

	unix_sk_entry__init(u);
	u->id = id;
	u->ino = ino;
	u->type = type;
	u->state = state;
	u->flags = O_RDWR;
	u->peer = peer;
	u->fown = &fown;
	u->opts = &sk_opts;
	u->name.data = (uint8_t *)name;
	u->name.len = name_len;
	f->usk = u;
	return f;
}

static int write_files(int dfd)
{
	FileEntry *f[13];
	FileEntry *ext, *lsn, *sp;
	int n = 0;

	memset(&fb, 0, sizeof(fb));
	f[n++] = reg(1, "/tmp", O_RDONLY | O_DIRECTORY, 0);
	f[n++] = reg(2, "/", O_RDONLY | O_DIRECTORY, 0);
	f[n++] = reg(3, "/usr/bin/crux-demo", O_RDONLY, 0);
	f[n++] = reg(4, "/usr/lib/x86_64-linux-gnu/libc.so.6", O_RDONLY, 0);
	f[n++] = reg(5, "/var/log/app.log", O_WRONLY | O_APPEND, 1234);
	f[n++] = pipe_end(6, 5000, O_RDONLY);
	f[n++] = pipe_end(7, 5000, O_WRONLY);
	f[n++] = usk(8, 9001, 1, 1, 9002, "", 0);
	f[n++] = sp = usk(9, 9002, 1, 1, 9001, "", 0);
	sp->usk->has_shutdown = 1; /* 9002 said all it had to say */
	sp->usk->shutdown = SK_SHUTDOWN__WRITE;
	f[n++] = usk(10, 9003, 2, 1, 7777, "", 0);
	/* The external peer: a fresh id no fd uses, uflags EXTERN, the peer's name. */
	f[n++] = ext = usk(11, 7777, 2, 10, 0, "/dev/log", 8);
	ext->usk->uflags = 1;
	f[n++] = lsn = usk(12, 9004, 1, 10, 0, "\0crux-demo", 10);
	lsn->usk->backlog = 128;
	f[n++] = reg(13, "/etc/hostname", O_RDONLY, 0);
	return write_msgs(dfd, IMG_FILES, 0, (ProtobufCMessage **)f, n);
}

static int write_fdinfo(int dfd, uint32_t files_id, const uint32_t (*fds)[3], size_t n)
{
	FdinfoEntry e[8];
	ProtobufCMessage *m[8];
	size_t i;

	for (i = 0; i < n && i < 8; i++) {
		fdinfo_entry__init(&e[i]);
		e[i].fd = fds[i][0];
		e[i].id = fds[i][1];
		e[i].type = fds[i][2];
		e[i].flags = e[i].fd > 2; /* FD_CLOEXEC above stdio */
		m[i] = &e[i].base;
	}
	return write_msgs(dfd, IMG_FDINFO, files_id, m, i);
}

/* Each message followed by its payload. */
static int write_with_payload(int dfd, enum img_type t, ProtobufCMessage **m, const char **pay,
			      const uint32_t *len, size_t n)
{
	struct img *img = NULL;
	size_t i;
	int err;

	err = img__open(dfd, t, 0, IMG_WRITE, &img);
	for (i = 0; !err && i < n; i++) {
		err = img_write_one(img, m[i]);
		if (!err)
			err = img_write_payload(img, pay[i], len[i]);
	}
	if (err) {
		img__close(img);
		return err;
	}
	return img__close(img);
}

static int write_queues(int dfd)
{
	SkPacketEntry a = SK_PACKET_ENTRY__INIT, b = SK_PACKET_ENTRY__INIT;
	SkPacketEntry c = SK_PACKET_ENTRY__INIT;
	static uint32_t rights[] = { 13 };
	ScmEntry scm = SCM_ENTRY__INIT, *scmp = &scm;
	PipeDataEntry p = PIPE_DATA_ENTRY__INIT;
	/* c is for 8 again, after b: a reader must not assume one socket's packets adjoin */
	ProtobufCMessage *m[] = { &a.base, &b.base, &c.base }, *pm = &p.base;
	const char *pay[] = { "hello", "ping", "world" }, *ppay = "data";
	uint32_t len[] = { 5, 4, 5 }, plen = 4;
	int err;

	a.id_for = 8;
	a.length = 5;
	scm.type = 1; /* SCM_RIGHTS: /etc/hostname rides along with "hello" */
	scm.n_rights = 1;
	scm.rights = rights;
	a.n_scm = 1;
	a.scm = &scmp;
	b.id_for = 10;
	b.length = 4;
	c.id_for = 8;
	c.length = 5;
	p.pipe_id = 5000;
	p.bytes = 4;
	p.has_size = 1;
	p.size = 65536;
	err = write_with_payload(dfd, IMG_SK_QUEUES, m, pay, len, 3);
	return err ?: write_with_payload(dfd, IMG_PIPES_DATA, &pm, &ppay, &plen, 1);
}

static int write_crux(int dfd)
{
	static uint8_t xsave[1024];
	CruxExtEntry e = CRUX_EXT_ENTRY__INIT;
	CruxThreadEntry t[2] = { CRUX_THREAD_ENTRY__INIT, CRUX_THREAD_ENTRY__INIT };
	CruxThreadEntry *tp[] = { &t[0], &t[1] };
	CruxTaskEntry task = CRUX_TASK_ENTRY__INIT;
	int err, i;

	e.has_ino = e.has_file_id = e.has_owner_pid = e.has_owner_fd = e.has_type = 1;
	e.has_peer_ino = e.has_peer_name = e.has_addr = e.has_policy = e.has_peer_owner_pid = 1;
	e.ino = 9003;
	e.file_id = 10;
	e.owner_pid = 101;
	e.owner_fd = 5;
	e.type = 2;
	e.peer_ino = 7777;
	e.peer_name.data = (uint8_t *)"/dev/log";
	e.peer_name.len = 8;
	e.addr = e.peer_name;
	e.policy = CRUX_EXT_POLICY__CRUX_EXT_POLICY_RECONNECT_DGRAM;
	e.peer_owner_pid = 1;
	e.peer_owner_comm = "rsyslogd";
	err = write_one(dfd, IMG_CRUX_EXT, 0, &e.base);
	for (i = 0; i < 2; i++) {
		t[i].has_tid = t[i].has_xsave = 1;
		t[i].tid = 101 + i;
		t[i].xsave.data = xsave;
		t[i].xsave.len = sizeof(xsave);
	}
	task.has_pid = 1;
	task.pid = 100;
	task.n_threads = 1;
	task.threads = tp;
	t[0].tid = 100;
	err = err ?: write_one(dfd, IMG_CRUX_TASK, 100, &task.base);
	task.pid = 101;
	task.n_threads = 2;
	t[0].tid = 101;
	return err ?: write_one(dfd, IMG_CRUX_TASK, 101, &task.base);
}

static int write_tasks(int dfd)
{
	static const uint32_t fds100[][3] = {
		{ 0, 6, FD_TYPES__PIPE },   { 1, 5, FD_TYPES__REG },	 { 2, 5, FD_TYPES__REG },
		{ 3, 8, FD_TYPES__UNIXSK }, { 4, 12, FD_TYPES__UNIXSK }, { 7, 13, FD_TYPES__REG },
	};
	static const uint32_t fds101[][3] = {
		{ 0, 7, FD_TYPES__PIPE },
		{ 3, 9, FD_TYPES__UNIXSK },
		{ 5, 10, FD_TYPES__UNIXSK },
	};
	int err;

	err = write_pstree(dfd);
	err = err ?: write_core(dfd, 100, "crux-demo", true, 1);
	err = err ?: write_core(dfd, 101, "crux-demo-child", true, 2);
	err = err ?: write_core(dfd, 102, "worker", false, 2);
	err = err ?: write_task_small(dfd, 100, 1);
	err = err ?: write_task_small(dfd, 101, 2);
	err = err ?: write_mm(dfd, 100);
	err = err ?: write_mm(dfd, 101);
	err = err ?: write_pages(dfd, 100, 1);
	err = err ?: write_pages(dfd, 101, 2);
	err = err ?: write_fdinfo(dfd, 1, fds100, ARRAY_SIZE(fds100));
	return err ?: write_fdinfo(dfd, 2, fds101, ARRAY_SIZE(fds101));
}

int imgset_write(const char *dir)
{
	TaskKobjIdsEntry ids = TASK_KOBJ_IDS_ENTRY__INIT;
	InventoryEntry inv = INVENTORY_ENTRY__INIT;
	struct imgdir *d;
	int err, dfd;

	err = imgdir__create(dir, &d);
	if (err)
		return err;
	dfd = imgdir_fd(d);
	err = write_tasks(dfd);
	err = err ?: write_files(dfd);
	err = err ?: write_queues(dfd);
	err = err ?: write_crux(dfd);
	ids_fill(&ids, 1);
	inv.img_version = IMG_VERSION;
	inv.has_fdinfo_per_id = inv.has_ns_per_id = 1;
	inv.fdinfo_per_id = inv.ns_per_id = 1;
	inv.root_ids = &ids;
	err = err ?: imgdir__commit(d, &inv);
	if (err) {
		imgdir__abort(d);
		return err;
	}
	imgdir__close(d);
	return 0;
}
