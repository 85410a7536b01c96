#include "privsep.h"

#include "revoke.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

int privsep_lookup(const char *name, struct privsep_user *ret, struct err_info *ei)
{
	struct passwd pw, *p = NULL;
	char buf[4096];
	int e = getpwnam_r(name, &pw, buf, sizeof(buf), &p);

	if (p == NULL)
		return err_set(ei, ERR_BAD_REQUEST,
			       "AGENT_USER '%s' does not exist%s%s (create it: useradd --system "
			       "--no-create-home --shell /usr/sbin/nologin %s)",
			       name, e ? ": " : "", e ? strerror(e) : "", name);
	if (p->pw_uid == 0 || p->pw_gid == 0)
		return err_set(ei, ERR_BAD_REQUEST,
			       "AGENT_USER '%s' has uid or gid 0: the api process must not be root",
			       name);
	ret->uid = p->pw_uid;
	ret->gid = p->pw_gid;
	snprintf(ret->name, sizeof(ret->name), "%s", name);
	return 0;
}

pid_t privsep_fork(int *fd, struct err_info *ei)
{
	int sv[2];
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return err_set(ei, ERR_INTERNAL, "socketpair: %s", strerror(errno));
	pid = fork();
	if (pid < 0) {
		err_set(ei, ERR_INTERNAL, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		return ERR_INTERNAL;
	}
	close(pid == 0 ? sv[0] : sv[1]);
	*fd = pid == 0 ? sv[1] : sv[0];
	return pid;
}

/* Bounding (so nothing exec'd could get a capability back) and ambient
 * sets: needs CAP_SETPCAP, so before the uid changes. */
static int drop_bounding(struct err_info *ei)
{
	for (unsigned long c = 0; c <= 63; c++)
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			return err_set(ei, ERR_INTERNAL, "PR_CAPBSET_DROP %lu: %s", c,
				       strerror(errno));
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
		return err_set(ei, ERR_INTERNAL, "clearing ambient capabilities: %s",
			       strerror(errno));
	return 0;
}

/* Permitted, effective and inheritable: all empty. */
static int drop_sets(struct err_info *ei)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[_LINUX_CAPABILITY_U32S_3];

	memset(d, 0, sizeof(d));
	if (syscall(SYS_capset, &h, d) < 0)
		return err_set(ei, ERR_INTERNAL, "capset: %s", strerror(errno));
	return 0;
}

int privsep_drop(const struct privsep_user *u, pid_t root_pid, struct err_info *ei)
{
	if (setgroups(1, &u->gid) < 0)
		return err_set(ei, ERR_INTERNAL, "setgroups: %s", strerror(errno));
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		return err_set(ei, ERR_INTERNAL, "setresgid %u: %s", (unsigned)u->gid,
			       strerror(errno));
	if (drop_bounding(ei) < 0)
		return ERR_INTERNAL;
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		return err_set(ei, ERR_INTERNAL, "setresuid %u: %s", (unsigned)u->uid,
			       strerror(errno));
	/* The setuid cleared permitted and effective; clear inheritable too,
	 * and prove that the way back is closed. */
	if (drop_sets(ei) < 0)
		return ERR_INTERNAL;
	if (setresuid(0, 0, 0) == 0 || setresgid(0, 0, 0) == 0 || geteuid() == 0 || getegid() == 0)
		return err_set(ei, ERR_INTERNAL, "root could be regained after dropping it");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return err_set(ei, ERR_INTERNAL, "PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
		/* No core dumps and no ptrace by the same user: the process holds TLS
	 * keys and tokens. (The uid change made it so already; say it. Only
	 * LeakSanitizer, in test builds, needs to ptrace its own threads.) */
#if defined(__SANITIZE_ADDRESS__)
	if (prctl(PR_SET_DUMPABLE, 1, 0, 0, 0) < 0)
#else
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
#endif
		return err_set(ei, ERR_INTERNAL, "PR_SET_DUMPABLE: %s", strerror(errno));
	/* Set after the uid change, which clears it. */
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return err_set(ei, ERR_INTERNAL, "PR_SET_PDEATHSIG: %s", strerror(errno));
	if (getppid() != root_pid)
		return err_set(ei, ERR_INTERNAL, "the root process is gone");
	return 0;
}

int privsep_listen(const char *host, unsigned port, struct err_info *ei)
{
	struct sockaddr_storage ss;
	struct sockaddr_in *in4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
	socklen_t sl;
	int one = 1, fd;

	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
		in4->sin_family = AF_INET;
		in4->sin_port = htons((uint16_t)port);
		sl = sizeof(*in4);
	} else if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		sl = sizeof(*in6);
	} else {
		return err_set(ei, ERR_BAD_REQUEST, "cannot bind to '%s'", host);
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return err_set(ei, ERR_INTERNAL, "socket: %s", strerror(errno));
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (ss.ss_family == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, (struct sockaddr *)&ss, sl) < 0 || listen(fd, SOMAXCONN) < 0) {
		err_set(ei, ERR_INTERNAL, "cannot listen on %s port %u: %s", host, port,
			strerror(errno));
		close(fd);
		return ERR_INTERNAL;
	}
	return fd;
}

/* Move a file of an agent that ran in one process into the api directory,
 * unless one is there already. */
static void migrate(int from, int to, const char *name, const struct privsep_user *u)
{
	struct stat st;

	if (fstatat(to, name, &st, AT_SYMLINK_NOFOLLOW) == 0 ||
	    fstatat(from, name, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode))
		return;
	if (renameat(from, name, to, name) == 0)
		fchownat(to, name, u->uid, u->gid, AT_SYMLINK_NOFOLLOW);
}

int privsep_state_dir(const char *state_dir, const struct privsep_user *u, char *out, size_t len,
		      struct err_info *ei)
{
	int dfd, afd, r = 0;
	struct stat st;

	if ((size_t)snprintf(out, len, "%s/api", state_dir) >= len)
		return err_set(ei, ERR_BAD_REQUEST, "AGENT_STATE_DIR is too long");
	dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return err_set(ei, ERR_INTERNAL, "open %s: %s", state_dir, strerror(errno));
	if (mkdirat(dfd, "api", 0700) < 0 && errno != EEXIST) {
		r = err_set(ei, ERR_INTERNAL, "mkdir %s: %s", out, strerror(errno));
		close(dfd);
		return r;
	}
	afd = openat(dfd, "api", O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (afd < 0 || fstat(afd, &st) < 0)
		r = err_set(ei, ERR_INTERNAL, "open %s (it must be a directory): %s", out,
			    strerror(errno));
	else if (fchown(afd, u->uid, u->gid) < 0 || fchmod(afd, 0700) < 0)
		r = err_set(ei, ERR_INTERNAL, "chown %s to %s: %s", out, u->name, strerror(errno));
	else
		migrate(dfd, afd, REVOKE_FILE, u);
	if (afd >= 0)
		close(afd);
	close(dfd);
	return r;
}
