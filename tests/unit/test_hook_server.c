/* hook_server.h and hook.h: the connect/disconnect hook, parser and a real
 * round trip over a unix socket. */
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <cmocka.h>

#include "err.h"
#include "hook.h"
#include "hook_server.h"
#include "timefmt.h"
#include "unit.h"

static char tmpdir[64], sock_path[128];

static int setup(void **state)
{
	(void)state;
	if (unit_mkdtemp(tmpdir, sizeof(tmpdir), "hooktest") == NULL)
		return -1;
	unit_join(sock_path, sizeof(sock_path), tmpdir, "hook.sock");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unit_rmtree(tmpdir);
	return 0;
}

/* ---- hook_event_parse ---- */

static int parse(const char *buf, size_t len, struct hook_event *ev)
{
	return hook_event_parse(buf, len, ev);
}

#define PARSE(text, ev) parse(text, sizeof(text) - 1, ev)

static void test_parse_good(void **state)
{
	struct hook_event ev;

	(void)state;
	assert_int_equal(PARSE("REASON=connect\nID=10022\nUSERNAME=alice\n"
			       "USER_AGENT=Open AnyConnect VPN Agent v9.01=x\nGROUPNAME=\n\n",
			       &ev),
			 0);
	assert_int_equal(ev.n, 5);
	assert_string_equal(ev.var[0].key, "REASON");
	assert_string_equal(hook_event_get(&ev, "REASON"), "connect");
	assert_string_equal(hook_event_get(&ev, "ID"), "10022");
	assert_string_equal(hook_event_get(&ev, "USERNAME"), "alice");
	/* Split at the first '='. */
	assert_string_equal(hook_event_get(&ev, "USER_AGENT"), "Open AnyConnect VPN Agent v9.01=x");
	assert_string_equal(hook_event_get(&ev, "GROUPNAME"), "");
	assert_null(hook_event_get(&ev, "DEVICE"));
	assert_null(hook_event_get(&ev, "username"));
	hook_event_free(&ev);
	assert_int_equal(ev.n, 0);

	/* An empty request; and what follows the empty line is not read. */
	assert_int_equal(PARSE("\n", &ev), 0);
	assert_int_equal(ev.n, 0);
	hook_event_free(&ev);
	assert_int_equal(PARSE("USERNAME=bob\n\nUSERNAME=mallory\nno equals sign\n", &ev), 0);
	assert_int_equal(ev.n, 1);
	assert_string_equal(hook_event_get(&ev, "USERNAME"), "bob");
	hook_event_free(&ev);
}

static void test_parse_unknown_and_duplicates(void **state)
{
	struct hook_event ev;

	(void)state;
	assert_int_equal(PARSE("PATH=/bin\nUSERNAME=alice\nLD_PRELOAD=/x.so\n=empty-key\n"
			       "REASON=connect\nreason=disconnect\nOCSERV_ROUTES=10.0.0.0/8\n\n",
			       &ev),
			 0);
	assert_int_equal(ev.n, 2);
	assert_string_equal(hook_event_get(&ev, "USERNAME"), "alice");
	assert_string_equal(hook_event_get(&ev, "REASON"), "connect");
	assert_null(hook_event_get(&ev, "PATH"));
	assert_null(hook_event_get(&ev, "LD_PRELOAD"));
	assert_null(hook_event_get(&ev, ""));
	hook_event_free(&ev);

	/* A repeated key: the first value wins. */
	assert_int_equal(PARSE("USERNAME=alice\nREASON=connect\nUSERNAME=mallory\n"
			       "REASON=disconnect\n\n",
			       &ev),
			 0);
	assert_int_equal(ev.n, 2);
	assert_string_equal(hook_event_get(&ev, "USERNAME"), "alice");
	assert_string_equal(hook_event_get(&ev, "REASON"), "connect");
	hook_event_free(&ev);
}

static void test_parse_bad(void **state)
{
	static const char nul_value[] = "USERNAME=al\0ice\n\n";
	static const char nul_unknown[] = "FOO=a\0b\nUSERNAME=alice\n\n";
	static const char nul_key[] = "USER\0NAME=alice\n\n";
	struct hook_event ev;

	(void)state;
	/* Cut short: every line ends, and an empty line ends the request. */
	assert_int_equal(PARSE("", &ev), ERR_BAD_REQUEST);
	hook_event_free(&ev);
	assert_int_equal(PARSE("USERNAME=alice\n", &ev), ERR_BAD_REQUEST);
	hook_event_free(&ev);
	assert_int_equal(PARSE("USERNAME=alice", &ev), ERR_BAD_REQUEST);
	hook_event_free(&ev);
	assert_int_equal(PARSE("REASON=connect\nUSERNAME=alice\n\x01", &ev), ERR_BAD_REQUEST);
	hook_event_free(&ev);
	/* A line that is not KEY=VALUE. */
	assert_int_equal(PARSE("USERNAME alice\n\n", &ev), ERR_BAD_REQUEST);
	hook_event_free(&ev);
	assert_int_equal(PARSE("REASON=connect\n \n\n", &ev), ERR_BAD_REQUEST);
	hook_event_free(&ev);
	/* NUL bytes, in a known key's value, in an unknown line, in a key. */
	assert_int_equal(parse(nul_value, sizeof(nul_value) - 1, &ev), ERR_BAD_REQUEST);
	hook_event_free(&ev);
	assert_int_equal(parse(nul_unknown, sizeof(nul_unknown) - 1, &ev), ERR_BAD_REQUEST);
	hook_event_free(&ev);
	assert_int_equal(parse(nul_key, sizeof(nul_key) - 1, &ev), ERR_BAD_REQUEST);
	hook_event_free(&ev);
	/* len is honoured: the empty line past it does not count. */
	assert_int_equal(parse("USERNAME=alice\n\n", 15, &ev), ERR_BAD_REQUEST);
	hook_event_free(&ev);
}

/* Only HOOK_KEYS are kept, each once: however many lines a request has,
 * the event never holds more than the known keys. */
static void test_parse_many_vars(void **state)
{
	char buf[HOOK_MAX_REQUEST * 2];
	struct hook_event ev;
	size_t len = 0, n_keys = 0;

	(void)state;
	for (int round = 0; round < 2; round++) {
		for (size_t i = 0; HOOK_KEYS[i] != NULL; i++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s=v%d-%zu\n",
						HOOK_KEYS[i], round, i);
		for (int i = 0; i < 60; i++)
			len += (size_t)snprintf(buf + len, sizeof(buf) - len, "X%d=y\n", i);
	}
	buf[len++] = '\n';
	assert_true(len < sizeof(buf));
	for (n_keys = 0; HOOK_KEYS[n_keys] != NULL; n_keys++)
		;
	assert_true(n_keys <= HOOK_MAX_VARS);
	assert_int_equal(hook_event_parse(buf, len, &ev), 0);
	assert_int_equal(ev.n, n_keys);
	for (size_t i = 0; i < n_keys; i++) {
		char want[32];
		snprintf(want, sizeof(want), "v0-%zu", i);
		assert_string_equal(hook_event_get(&ev, HOOK_KEYS[i]), want);
	}
	hook_event_free(&ev);
}

/* ---- a real server ---- */

static struct seen {
	pthread_mutex_t lock;
	void *app;
	int calls;
	size_t n;
	char keys[HOOK_MAX_VARS][32], values[HOOK_MAX_VARS][128];
} seen = {.lock = PTHREAD_MUTEX_INITIALIZER};

static const char *seen_get(const char *key)
{
	for (size_t i = 0; i < seen.n; i++)
		if (strcmp(seen.keys[i], key) == 0)
			return seen.values[i];
	return NULL;
}

static int seen_calls(void)
{
	int n;

	pthread_mutex_lock(&seen.lock);
	n = seen.calls;
	pthread_mutex_unlock(&seen.lock);
	return n;
}

/* Deny mallory, whatever the reason (the hook itself only acts on a
 * connect); remember the event. */
static bool decide(void *app, const struct hook_event *ev, char *why, size_t len)
{
	const char *user = hook_event_get(ev, "USERNAME");
	bool allow = user == NULL || strcmp(user, "mallory") != 0;

	pthread_mutex_lock(&seen.lock);
	seen.app = app;
	seen.calls++;
	seen.n = ev->n;
	for (size_t i = 0; i < ev->n && i < HOOK_MAX_VARS; i++) {
		snprintf(seen.keys[i], sizeof(seen.keys[i]), "%s", ev->var[i].key);
		snprintf(seen.values[i], sizeof(seen.values[i]), "%s", ev->var[i].value);
	}
	pthread_mutex_unlock(&seen.lock);
	if (!allow)
		snprintf(why, len, "user %s is blocked", user);
	return allow;
}

static void clear_hook_env(void)
{
	for (size_t i = 0; HOOK_KEYS[i] != NULL; i++)
		unsetenv(HOOK_KEYS[i]);
	unsetenv("AGENT_HOOK_SOCKET");
}

static int run_hook(const char *path, const char *reason, const char *user)
{
	char a0[] = "hook", a1[] = "--socket", a2[256];
	char *argv[] = {a0, a1, a2, NULL};

	snprintf(a2, sizeof(a2), "%s", path);
	clear_hook_env();
	if (reason)
		setenv("REASON", reason, 1);
	if (user)
		setenv("USERNAME", user, 1);
	return hook_main(3, argv);
}

static struct hook_server *start(const char *path)
{
	struct err_info ei = {{0}};
	struct hook_server *hs = hook_server_start(path, decide, &seen, &ei);

	if (hs == NULL)
		fail_msg("hook_server_start(%s): %s", path, ei.detail);
	return hs;
}

/* Fill sa with path; false when it does not fit. */
static bool sun_set(struct sockaddr_un *sa, const char *path)
{
	size_t n = strlen(path);

	sa->sun_family = AF_UNIX;
	if (n >= sizeof(sa->sun_path))
		return false;
	memcpy(sa->sun_path, path, n + 1);
	return true;
}

/* Connect, send req, read the answer (until EOF or 3 s). Returns the bytes
 * read, or -1 when no connection could be made. */
static ssize_t raw_exchange(const char *path, const char *req, size_t len, char *ans, size_t cap)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	size_t got = 0;

	if (fd < 0 || !sun_set(&sa, path) || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* A server that hangs up before reading (EPIPE) answers nothing. */
	if (len > 0 && send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len) {
		close(fd);
		ans[0] = '\0';
		return 0;
	}
	for (;;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		ssize_t n;

		if (got + 1 >= cap || poll(&pfd, 1, 3000) <= 0)
			break;
		n = read(fd, ans + got, cap - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	ans[got] = '\0';
	close(fd);
	return (ssize_t)got;
}

static void test_round_trip(void **state)
{
	struct hook_server *hs = start(sock_path);
	int calls = seen_calls();
	char ans[256];

	(void)state;
	assert_int_equal(run_hook(sock_path, "connect", "mallory"), 1);
	assert_int_equal(seen_calls(), calls + 1);
	assert_ptr_equal(seen.app, &seen);
	assert_int_equal(seen.n, 2);
	assert_string_equal(seen_get("REASON"), "connect");
	assert_string_equal(seen_get("USERNAME"), "mallory");

	assert_int_equal(run_hook(sock_path, "connect", "alice"), 0);
	assert_int_equal(seen_calls(), calls + 2);
	assert_string_equal(seen_get("USERNAME"), "alice");

	/* The server says deny, but only a connect can be refused. */
	assert_int_equal(run_hook(sock_path, "disconnect", "mallory"), 0);
	assert_int_equal(seen_calls(), calls + 3);
	assert_string_equal(seen_get("REASON"), "disconnect");
	assert_int_equal(run_hook(sock_path, NULL, "mallory"), 0);
	assert_int_equal(run_hook(sock_path, "host-update", "mallory"), 0);

	/* The wire answer itself. */
	assert_int_equal(raw_exchange(sock_path, "USERNAME=mallory\n\n", 18, ans, sizeof(ans)),
			 strlen("deny user mallory is blocked\n"));
	assert_string_equal(ans, "deny user mallory is blocked\n");
	assert_int_equal(raw_exchange(sock_path, "USERNAME=alice\n\n", 16, ans, sizeof(ans)), 6);
	assert_string_equal(ans, "allow\n");

	/* Every forwarded variable that is set arrives; a value with a newline
	 * is left out (it would end the request early); others are not sent. */
	clear_hook_env();
	setenv("REASON", "connect", 1);
	setenv("ID", "10022", 1);
	setenv("USERNAME", "alice", 1);
	setenv("GROUPNAME", "", 1);
	setenv("IP_REAL", "127.0.0.1", 1);
	setenv("USER_AGENT", "evil\nUSERNAME=mallory", 1);
	setenv("STATS_DURATION", "42", 1);
	setenv("OCSERV_ROUTES", "10.0.0.0/8", 1);
	setenv("AGENT_HOOK_SOCKET", sock_path, 1); /* and no --socket */
	{
		char a0[] = "hook";
		char *argv[] = {a0, NULL};
		assert_int_equal(hook_main(1, argv), 0);
	}
	assert_int_equal(seen.n, 6);
	assert_string_equal(seen_get("REASON"), "connect");
	assert_string_equal(seen_get("ID"), "10022");
	assert_string_equal(seen_get("USERNAME"), "alice");
	assert_string_equal(seen_get("GROUPNAME"), "");
	assert_string_equal(seen_get("IP_REAL"), "127.0.0.1");
	assert_string_equal(seen_get("STATS_DURATION"), "42");
	assert_null(seen_get("USER_AGENT"));
	assert_null(seen_get("OCSERV_ROUTES"));
	assert_null(seen_get("AGENT_HOOK_SOCKET"));
	/* The environment's socket is used: mallory is refused through it. */
	setenv("USERNAME", "mallory", 1);
	{
		char a0[] = "hook";
		char *argv[] = {a0, NULL};
		assert_int_equal(hook_main(1, argv), 1);
	}

	/* A value too long for one request: what fits is sent (the keys that
	 * matter come first), the verdict still holds. */
	{
		char *big = malloc(HOOK_MAX_REQUEST + 1);
		assert_non_null(big);
		memset(big, 'u', HOOK_MAX_REQUEST);
		big[HOOK_MAX_REQUEST] = '\0';
		clear_hook_env();
		setenv("REASON", "connect", 1);
		setenv("USERNAME", "mallory", 1);
		setenv("USER_AGENT", big, 1);
		setenv("HOSTNAME", "laptop", 1);
		free(big);
		char a0[] = "hook", a1[] = "--socket";
		char *argv[] = {a0, a1, sock_path, NULL};
		assert_int_equal(hook_main(3, argv), 1);
		assert_string_equal(seen_get("USERNAME"), "mallory");
		assert_null(seen_get("USER_AGENT"));
	}

	/* A usage error allows and sends nothing. */
	calls = seen_calls();
	{
		char a0[] = "hook", a1[] = "--sock", a2[] = "x";
		char *argv[] = {a0, a1, a2, NULL};
		assert_int_equal(hook_main(3, argv), 0);
		assert_int_equal(hook_main(2, argv), 0);
	}
	assert_int_equal(seen_calls(), calls);
	clear_hook_env();
	hook_server_stop(hs);
	hook_server_stop(NULL);
}

/* A broken agent never locks users out: no socket, no answer, bad answers. */
static void test_fail_open(void **state)
{
	char missing[160], file[160], longpath[200];
	int64_t t0;

	(void)state;
	unit_join(missing, sizeof(missing), tmpdir, "missing.sock");
	t0 = timefmt_mono_ms();
	assert_int_equal(run_hook(missing, "connect", "mallory"), 0);
	assert_true(timefmt_mono_ms() - t0 < 500);
	/* Not a socket; a path too long for sun_path. */
	unit_join(file, sizeof(file), tmpdir, "file");
	assert_int_equal(unit_write_str(file, "deny\n"), 0);
	assert_int_equal(run_hook(file, "connect", "mallory"), 0);
	memset(longpath, 'a', sizeof(longpath) - 1);
	longpath[0] = '/';
	longpath[sizeof(longpath) - 1] = '\0';
	assert_int_equal(run_hook(longpath, "connect", "mallory"), 0);
	assert_true(timefmt_mono_ms() - t0 < 1000);
}

/* The hook runs as root in a directory the agent's user owns: it follows
 * no link to the socket, and talks only to a listener that owns the socket. */
static void test_no_link_to_the_socket(void **state)
{
	struct hook_server *hs = start(sock_path);
	char link[160];
	int calls = seen_calls();

	(void)state;
	unit_join(link, sizeof(link), tmpdir, "link.sock");
	assert_int_equal(symlink(sock_path, link), 0);
	assert_int_equal(run_hook(link, "connect", "mallory"), 0); /* refused: allowed */
	assert_int_equal(seen_calls(), calls);
	assert_int_equal(run_hook(sock_path, "connect", "mallory"), 1); /* the socket itself */
	unlink(link);
	if (geteuid() == 0) {
		/* A socket file owned by someone else than its listener. */
		assert_int_equal(lchown(sock_path, 65534, 65534), 0);
		assert_int_equal(run_hook(sock_path, "connect", "mallory"), 0);
		assert_int_equal(lchown(sock_path, 0, 0), 0);
	}
	hook_server_stop(hs);
}

/* A listening socket nobody serves: the hook gives up after
 * HOOK_TIMEOUT_MS and allows. */
static void test_fail_open_silent_server(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int64_t t0, dt;

	(void)state;
	assert_true(sun_set(&sa, sock_path));
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 8), 0);
	t0 = timefmt_mono_ms();
	assert_int_equal(run_hook(sock_path, "connect", "mallory"), 0);
	dt = timefmt_mono_ms() - t0;
	if (dt < HOOK_TIMEOUT_MS - 100 || dt >= 2 * HOOK_TIMEOUT_MS)
		fail_msg("the hook gave up after %lld ms, want about %d", (long long)dt,
			 HOOK_TIMEOUT_MS);
	close(fd);
	unlink(sock_path);
}

/* A server thread that accepts one connection and answers with text. */
struct fake_answer {
	int fd;
	const char *text;
};

static void *answer_once(void *arg)
{
	struct fake_answer *fa = arg;
	int c = accept(fa->fd, NULL, NULL);
	char buf[HOOK_MAX_REQUEST];

	if (c >= 0) {
		(void)!read(c, buf, sizeof(buf));
		(void)!write(c, fa->text, strlen(fa->text));
		close(c);
	}
	return NULL;
}

static void test_answers(void **state)
{
	static const struct {
		const char *text;
		int want;
	} cases[] = {
		{"deny\n", 1}, {"deny because\n", 1}, {"allow\n", 0},
		{"deny", 0}, /* no newline: not an answer */
		{"", 0},       {"DENY\n", 0},	      {"maybe\n", 0},
	};
	struct sockaddr_un sa = {.sun_family = AF_UNIX};

	(void)state;
	assert_true(sun_set(&sa, sock_path));
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fake_answer fa = {socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0),
					 cases[i].text};
		pthread_t t;
		int64_t t0 = timefmt_mono_ms();

		unlink(sock_path);
		assert_int_equal(bind(fa.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		assert_int_equal(listen(fa.fd, 8), 0);
		assert_int_equal(pthread_create(&t, NULL, answer_once, &fa), 0);
		if (run_hook(sock_path, "connect", "alice") != cases[i].want)
			fail_msg("answer '%s': want exit %d", cases[i].text, cases[i].want);
		assert_true(timefmt_mono_ms() - t0 < 1000); /* EOF ends the wait */
		pthread_join(t, NULL);
		close(fa.fd);
	}
	unlink(sock_path);
}

/* An agent that hangs up at once (it refused the peer, or is stopping)
 * must not kill the hook with SIGPIPE: ocserv would take that as a refusal.
 * The hook runs as its own process with SIGPIPE at its default; here a
 * child does, against an accept-and-close server on the same CPU (so the
 * server usually closes before the hook writes). */
static int lfd_closer = -1;

static void *accept_and_close(void *arg)
{
	(void)arg;
	for (;;) {
		int c = accept(lfd_closer, NULL, NULL);
		if (c < 0)
			return NULL;
		close(c);
	}
}

static void test_hangup_no_sigpipe(void **state)
{
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct sockaddr_un sa;
		cpu_set_t cpus;
		pthread_t t;
		char a0[] = "hook", a1[] = "--socket";
		char *argv[] = {a0, a1, sock_path, NULL};

		CPU_ZERO(&cpus);
		CPU_SET(0, &cpus);
		(void)sched_setaffinity(0, sizeof(cpus), &cpus);
		signal(SIGPIPE, SIG_DFL);
		if (!freopen("/dev/null", "w", stderr))
			_exit(3);
		lfd_closer = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (lfd_closer < 0 || !sun_set(&sa, sock_path) ||
		    bind(lfd_closer, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    listen(lfd_closer, 64) < 0 ||
		    pthread_create(&t, NULL, accept_and_close, NULL) != 0)
			_exit(3);
		clear_hook_env();
		setenv("REASON", "connect", 1);
		setenv("USERNAME", "alice", 1);
		for (int i = 0; i < 300; i++)
			if (hook_main(3, argv) != 0)
				_exit(1);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (WIFSIGNALED(status))
		fail_msg("the hook was killed by signal %d", WTERMSIG(status));
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/* A bad or idle client gets nothing and does not stop the server. */
static void test_server_robustness(void **state)
{
	struct hook_server *hs = start(sock_path);
	int calls = seen_calls();
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char ans[256];
	int idle;

	(void)state;
	assert_int_equal(raw_exchange(sock_path, "no equals\n\n", 11, ans, sizeof(ans)), 0);
	assert_int_equal(raw_exchange(sock_path, "USERNAME=a\0b\n\n", 14, ans, sizeof(ans)), 0);
	assert_int_equal(seen_calls(), calls);
	assert_int_equal(run_hook(sock_path, "connect", "mallory"), 1);

	/* A client that connects and sends nothing holds the one hook thread
	 * for at most HOOK_IO_TIMEOUT_MS: the next hook still gets its answer. */
	idle = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(sun_set(&sa, sock_path));
	assert_int_equal(connect(idle, (struct sockaddr *)&sa, sizeof(sa)), 0);
	usleep(50 * 1000);
	assert_int_equal(run_hook(sock_path, "connect", "mallory"), 1);
	close(idle);

	/* A request larger than HOOK_MAX_REQUEST is dropped. */
	{
		size_t len = HOOK_MAX_REQUEST + 100;
		char *big = malloc(len);
		assert_non_null(big);
		memset(big, 'x', len);
		memcpy(big, "USER_AGENT=", 11);
		big[len - 2] = '\n';
		big[len - 1] = '\n';
		assert_int_equal(raw_exchange(sock_path, big, len, ans, sizeof(ans)), 0);
		free(big);
	}
	assert_int_equal(run_hook(sock_path, "connect", "alice"), 0);
	hook_server_stop(hs);
}

static void test_socket_file(void **state)
{
	struct hook_server *hs;
	struct err_info ei = {{0}};
	struct stat st;
	char sub[128], nested[160], file[160], link[160];
	char *content;

	(void)state;
	/* 0600, and gone after stop. */
	hs = start(sock_path);
	assert_int_equal(lstat(sock_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0600);
	hook_server_stop(hs);
	assert_int_equal(lstat(sock_path, &st), -1);
	assert_int_equal(errno, ENOENT);

	/* A missing parent directory is created 0700. */
	unit_join(sub, sizeof(sub), tmpdir, "run");
	unit_join(nested, sizeof(nested), sub, "hook.sock");
	hs = start(nested);
	assert_int_equal(stat(sub, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0700);
	assert_int_equal(run_hook(nested, "connect", "mallory"), 1);

	/* A stale socket (the server died without cleaning up) is replaced. */
	{
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		assert_true(sun_set(&sa, sock_path));
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		close(fd);
	}
	assert_int_equal(lstat(sock_path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	hook_server_stop(hs);
	hs = start(sock_path);
	assert_int_equal(run_hook(sock_path, "connect", "mallory"), 1);
	hook_server_stop(hs);

	/* Any other file at the path is refused and left alone. */
	unit_join(file, sizeof(file), tmpdir, "regular");
	assert_int_equal(unit_write_str(file, "precious\n"), 0);
	assert_null(hook_server_start(file, decide, &seen, &ei));
	assert_non_null(strstr(ei.detail, "not a socket"));
	content = unit_read_file(file, NULL);
	assert_non_null(content);
	assert_string_equal(content, "precious\n");
	free(content);
	/* A symlink, even to a socket, is not replaced either. */
	hs = start(sock_path);
	unit_join(link, sizeof(link), tmpdir, "link.sock");
	assert_int_equal(symlink(sock_path, link), 0);
	memset(&ei, 0, sizeof(ei));
	assert_null(hook_server_start(link, decide, &seen, &ei));
	assert_true(strlen(ei.detail) > 0);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	hook_server_stop(hs);
	/* A path too long for a unix socket. */
	{
		char longpath[200];
		memset(longpath, 'a', sizeof(longpath) - 1);
		longpath[0] = '/';
		longpath[sizeof(longpath) - 1] = '\0';
		memset(&ei, 0, sizeof(ei));
		assert_null(hook_server_start(longpath, decide, &seen, &ei));
		assert_true(strlen(ei.detail) > 0);
	}
}

/* Only root and the agent's own user may ask (SO_PEERCRED). */
static void test_other_user_refused(void **state)
{
	struct hook_server *hs;
	int calls, status;
	pid_t pid;

	(void)state;
	if (geteuid() != 0)
		skip();
	hs = start(sock_path);
	calls = seen_calls();
	/* Let another user reach the socket, so that only the credential
	 * check stands in the way. */
	assert_int_equal(chmod(tmpdir, 0711), 0);
	assert_int_equal(chmod(sock_path, 0666), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char ans[64];
		ssize_t n;

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(3);
		n = raw_exchange(sock_path, "REASON=connect\nUSERNAME=mallory\n\n", 33, ans,
				 sizeof(ans));
		_exit(n < 0 ? 2 : n == 0 ? 0 : 1);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	if (WEXITSTATUS(status) != 0)
		fail_msg("another user: child status %d (1: answered, 2: no connection)",
			 WEXITSTATUS(status));
	assert_int_equal(seen_calls(), calls);
	/* Root still is. */
	assert_int_equal(run_hook(sock_path, "connect", "mallory"), 1);
	hook_server_stop(hs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_unknown_and_duplicates),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_many_vars),
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_round_trip),
		T(test_fail_open),
		T(test_fail_open_silent_server),
		T(test_no_link_to_the_socket),
		T(test_answers),
		T(test_hangup_no_sigpipe),
		T(test_server_robustness),
		T(test_socket_file),
		T(test_other_user_refused),
#undef T
	};

	/* As the daemon does: the hook server's reply to a client that left
	 * must not end the process. The hook itself runs with the default. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
