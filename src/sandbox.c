#include "sandbox.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/landlock.h>
#include <sched.h>
#include <seccomp.h>
#include <stdlib.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <termios.h>
#include <unistd.h>

/* What an HTTP(S) server with a few threads does once it runs: memory,
 * time, threads and their synchronisation, sockets it was given or accepts,
 * epoll, its own files (state directory, /proc/self), randomness. */
static const int allowed[] = {
	SCMP_SYS(read),
	SCMP_SYS(write),
	SCMP_SYS(readv),
	SCMP_SYS(writev),
	SCMP_SYS(pread64),
	SCMP_SYS(pwrite64),
	SCMP_SYS(close),
	SCMP_SYS(fstat),
	SCMP_SYS(newfstatat),
	SCMP_SYS(statx),
	SCMP_SYS(lseek),
	SCMP_SYS(openat),
	SCMP_SYS(fcntl),
	SCMP_SYS(flock),
	SCMP_SYS(fsync),
	SCMP_SYS(fdatasync),
	SCMP_SYS(ftruncate),
	SCMP_SYS(fchmod),
	SCMP_SYS(fchown),
	SCMP_SYS(rename),
	SCMP_SYS(renameat),
	SCMP_SYS(renameat2),
	SCMP_SYS(unlink),
	SCMP_SYS(unlinkat),
	SCMP_SYS(readlink),
	SCMP_SYS(getdents64),
	SCMP_SYS(mmap),
	SCMP_SYS(munmap),
	SCMP_SYS(mprotect),
	SCMP_SYS(mremap),
	SCMP_SYS(brk),
	SCMP_SYS(madvise),
	SCMP_SYS(rt_sigaction),
	SCMP_SYS(rt_sigprocmask),
	SCMP_SYS(rt_sigreturn),
	SCMP_SYS(rt_sigtimedwait),
	SCMP_SYS(sigaltstack),
	SCMP_SYS(futex),
	SCMP_SYS(set_robust_list),
	SCMP_SYS(get_robust_list),
	SCMP_SYS(rseq),
	SCMP_SYS(set_tid_address),
	SCMP_SYS(exit),
	SCMP_SYS(exit_group),
	SCMP_SYS(gettid),
	SCMP_SYS(getpid),
	SCMP_SYS(getppid),
	SCMP_SYS(getuid),
	SCMP_SYS(geteuid),
	SCMP_SYS(getgid),
	SCMP_SYS(getegid),
	SCMP_SYS(sched_yield),
	SCMP_SYS(sched_getaffinity),
	SCMP_SYS(epoll_create1),
	SCMP_SYS(epoll_ctl),
	SCMP_SYS(epoll_wait),
	SCMP_SYS(epoll_pwait),
	SCMP_SYS(eventfd2),
	SCMP_SYS(pipe2),
	SCMP_SYS(poll),
	SCMP_SYS(ppoll),
	SCMP_SYS(select),
	SCMP_SYS(pselect6),
	SCMP_SYS(accept),
	SCMP_SYS(accept4),
	SCMP_SYS(shutdown),
	SCMP_SYS(getsockname),
	SCMP_SYS(getpeername),
	SCMP_SYS(setsockopt),
	SCMP_SYS(getsockopt),
	SCMP_SYS(sendto),
	SCMP_SYS(recvfrom),
	SCMP_SYS(sendmsg),
	SCMP_SYS(recvmsg),
	SCMP_SYS(connect),
	SCMP_SYS(nanosleep),
	SCMP_SYS(clock_nanosleep),
	SCMP_SYS(clock_gettime),
	SCMP_SYS(clock_getres),
	SCMP_SYS(gettimeofday),
	SCMP_SYS(time),
	SCMP_SYS(getrandom),
	SCMP_SYS(uname),
	SCMP_SYS(sysinfo),
	SCMP_SYS(memfd_create),
	SCMP_SYS(restart_syscall),
};

#if defined(__SANITIZE_ADDRESS__)
/* LeakSanitizer stops the process's threads with ptrace from a clone of
 * itself at exit; only in sanitizer builds (tests). */
static const int allowed_sanitizer[] = {
	SCMP_SYS(ptrace),     SCMP_SYS(wait4),	   SCMP_SYS(clone),
	SCMP_SYS(prctl),      SCMP_SYS(tgkill),	   SCMP_SYS(kill),
	SCMP_SYS(open),	      SCMP_SYS(stat),	   SCMP_SYS(lstat),
	SCMP_SYS(access),     SCMP_SYS(getdents),  SCMP_SYS(dup),
	SCMP_SYS(dup2),	      SCMP_SYS(pipe),	   SCMP_SYS(prlimit64),
	SCMP_SYS(getrlimit),  SCMP_SYS(setrlimit), SCMP_SYS(process_vm_readv),
	SCMP_SYS(arch_prctl),
};
#endif

static int rule(scmp_filter_ctx ctx, int sc, unsigned n, const struct scmp_arg_cmp *cmp,
		struct err_info *ei)
{
	int r = seccomp_rule_add_array(ctx, SCMP_ACT_ALLOW, sc, n, cmp);

	if (r < 0) {
		char *name = seccomp_syscall_resolve_num_arch(SCMP_ARCH_NATIVE, sc);

		err_set(ei, ERR_INTERNAL, "seccomp rule for %s: %s", name ? name : "?",
			strerror(-r));
		free(name);
		return ERR_INTERNAL;
	}
	return 0;
}

/* Calls allowed only with some arguments. */
static int conditional_rules(scmp_filter_ctx ctx, struct err_info *ei)
{
	const pid_t self = getpid();
	struct scmp_arg_cmp thread = SCMP_A0(SCMP_CMP_MASKED_EQ, CLONE_THREAD, CLONE_THREAD);
	struct scmp_arg_cmp unix_only = SCMP_A0(SCMP_CMP_EQ, AF_UNIX);
	struct scmp_arg_cmp own_pid = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)self);
	struct scmp_arg_cmp tg_own = SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)self);
	struct scmp_arg_cmp name_set = SCMP_A0(SCMP_CMP_EQ, PR_SET_NAME);
	struct scmp_arg_cmp name_get = SCMP_A0(SCMP_CMP_EQ, PR_GET_NAME);
	struct scmp_arg_cmp no_new_limit = SCMP_A2(SCMP_CMP_EQ, 0);
	struct scmp_arg_cmp tcgets = SCMP_A1(SCMP_CMP_EQ, TCGETS);
	struct scmp_arg_cmp fionread = SCMP_A1(SCMP_CMP_EQ, FIONREAD);
	struct scmp_arg_cmp fionbio = SCMP_A1(SCMP_CMP_EQ, FIONBIO);

	if (rule(ctx, SCMP_SYS(clone), 1, &thread, ei) < 0 ||
	    rule(ctx, SCMP_SYS(socket), 1, &unix_only, ei) < 0 ||
	    rule(ctx, SCMP_SYS(socketpair), 1, &unix_only, ei) < 0 ||
	    rule(ctx, SCMP_SYS(kill), 1, &own_pid, ei) < 0 ||
	    rule(ctx, SCMP_SYS(tgkill), 1, &tg_own, ei) < 0 ||
	    rule(ctx, SCMP_SYS(prctl), 1, &name_set, ei) < 0 ||
	    rule(ctx, SCMP_SYS(prctl), 1, &name_get, ei) < 0 ||
	    rule(ctx, SCMP_SYS(prlimit64), 1, &no_new_limit, ei) < 0 ||
	    rule(ctx, SCMP_SYS(ioctl), 1, &tcgets, ei) < 0 ||
	    rule(ctx, SCMP_SYS(ioctl), 1, &fionread, ei) < 0 ||
	    rule(ctx, SCMP_SYS(ioctl), 1, &fionbio, ei) < 0)
		return ERR_INTERNAL;
	/* glibc tries clone3 first and falls back to clone on ENOSYS only;
	 * clone3's flags are in memory, out of the filter's reach. */
	if (seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0) < 0)
		return err_set(ei, ERR_INTERNAL, "seccomp rule for clone3");
	return 0;
}

int sandbox_apply(struct err_info *ei)
{
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	int r = 0;

	if (ctx == NULL)
		return err_set(ei, ERR_INTERNAL, "seccomp_init failed");
	if (seccomp_attr_set(ctx, SCMP_FLTATR_CTL_TSYNC, 1) < 0 ||
	    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1) < 0)
		r = err_set(ei, ERR_INTERNAL, "seccomp attributes refused");
	for (size_t i = 0; r == 0 && i < sizeof(allowed) / sizeof(allowed[0]); i++)
		r = rule(ctx, allowed[i], 0, NULL, ei);
#if defined(__SANITIZE_ADDRESS__)
	for (size_t i = 0; r == 0 && i < sizeof(allowed_sanitizer) / sizeof(allowed_sanitizer[0]);
	     i++)
		r = rule(ctx, allowed_sanitizer[i], 0, NULL, ei);
#endif
	if (r == 0)
		r = conditional_rules(ctx, ei);
	if (r == 0 && (r = seccomp_load(ctx)) < 0)
		r = err_set(ei, ERR_INTERNAL, "seccomp_load: %s", strerror(-r));
	seccomp_release(ctx);
	return r < 0 ? ERR_INTERNAL : 0;
}

/* Every file-system access Landlock's ABI version abi can restrict, less
 * reading (files, directories). */
static uint64_t write_accesses(int abi)
{
	uint64_t a = LANDLOCK_ACCESS_FS_EXECUTE | LANDLOCK_ACCESS_FS_WRITE_FILE |
		     LANDLOCK_ACCESS_FS_REMOVE_DIR | LANDLOCK_ACCESS_FS_REMOVE_FILE |
		     LANDLOCK_ACCESS_FS_MAKE_CHAR | LANDLOCK_ACCESS_FS_MAKE_DIR |
		     LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_MAKE_SOCK |
		     LANDLOCK_ACCESS_FS_MAKE_FIFO | LANDLOCK_ACCESS_FS_MAKE_BLOCK |
		     LANDLOCK_ACCESS_FS_MAKE_SYM;

	if (abi >= 2)
		a |= LANDLOCK_ACCESS_FS_REFER;
#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
	if (abi >= 3)
		a |= LANDLOCK_ACCESS_FS_TRUNCATE;
#endif
	return a;
}

static int allow_beneath(int ruleset, int dir_fd, uint64_t handled, struct err_info *ei)
{
	/* what writing a file atomically takes: create, write, rename over */
	uint64_t atomic_write = LANDLOCK_ACCESS_FS_WRITE_FILE | LANDLOCK_ACCESS_FS_REMOVE_FILE |
				LANDLOCK_ACCESS_FS_MAKE_REG | LANDLOCK_ACCESS_FS_REFER;
	struct landlock_path_beneath_attr pb = {0};

#ifdef LANDLOCK_ACCESS_FS_TRUNCATE
	atomic_write |= LANDLOCK_ACCESS_FS_TRUNCATE;
#endif
	pb.allowed_access = handled & atomic_write;
	pb.parent_fd = dir_fd;
	if (syscall(SYS_landlock_add_rule, ruleset, LANDLOCK_RULE_PATH_BENEATH, &pb, 0) < 0)
		return err_set(ei, ERR_INTERNAL, "landlock rule for the api directory: %s",
			       strerror(errno));
	return 0;
}

int sandbox_restrict_writes(int dir_fd, struct err_info *ei)
{
	int abi =
		(int)syscall(SYS_landlock_create_ruleset, NULL, 0, LANDLOCK_CREATE_RULESET_VERSION);
	struct landlock_ruleset_attr attr = {0};
	int ruleset, r = 0;

	if (abi < 1)
		return err_set(ei, ERR_NOT_SUPPORTED, "Landlock is not available: %s",
			       strerror(errno));
	attr.handled_access_fs = write_accesses(abi);
	ruleset = (int)syscall(SYS_landlock_create_ruleset, &attr, sizeof(attr), 0);
	if (ruleset < 0)
		return err_set(ei, ERR_INTERNAL, "landlock_create_ruleset: %s", strerror(errno));
	if (dir_fd >= 0)
		r = allow_beneath(ruleset, dir_fd, attr.handled_access_fs, ei);
	if (r == 0 && syscall(SYS_landlock_restrict_self, ruleset, 0) < 0)
		r = err_set(ei, ERR_INTERNAL, "landlock_restrict_self: %s", strerror(errno));
	close(ruleset);
	return r;
}
