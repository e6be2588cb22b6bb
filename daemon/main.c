// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * tcpaod: TCP-AO for the kernel's own TCP connections, one daemon per
 * network namespace. Sets up the policy, the queues, the netfilter rules
 * and the workers; then waits for signals. Stopping leaves the rules, the
 * sets and the guard in place: with nobody reading the queues, AO peers'
 * packets are dropped (fail closed) until a new daemon takes over.
 * `tcpaod --remove-rules` is the explicit uninstall.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "atomicfile.h"
#include "audit.h"
#include "config.h"
#include "control.h"
#include "ctl.h"
#include "guard.h"
#include "log.h"
#include "mark.h"
#include "notify.h"
#include "ops.h"
#include "pmtu.h"
#include "policy.h"
#include "privs.h"
#include "keychain.h"
#include "keyage.h"
#include "l3dev.h"
#include "rollover.h"
#include "rules.h"
#include "rundir.h"
#include "secret.h"
#include "sockets.h"
#include "state.h"
#include "tcpao-version.h"
#include "watch.h"
#include "worker.h"

#ifndef TCPAO_SYSCONFDIR
#define TCPAO_SYSCONFDIR "/etc/tcpao"
#endif
#define DEFAULT_QUEUE_BASE 7430
#define DEFAULT_MAX_FLOWS 4096
/* --autostarted: leave after this long with nothing to do. */
#define AUTOSTART_IDLE_MS 10000

struct options {
	unsigned int queues;
	uint16_t queue_base;
	uint32_t max_flows;
	unsigned int busy_poll_usec;
	bool busy_poll_adaptive;
	const char *state_dir;
	const char *pidfile;
	bool daemonize;
	bool autostarted;
	bool accept_icmps;
	bool ao_optional;
	bool verbose;
	bool check;
	bool remove_rules;
	uint32_t mark;
	const char *config;
	const char *control_name;
	const char **keys;
	size_t nkeys;
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: tcpaod [options]\n"
		"  --config FILE       the host policy (tcpao.conf(5))\n"
		"  --control PATH      control socket (default "
		TCPAO_RUNDIR "/netns-<cookie>.sock)\n"
		"  --key SPEC          an MKT (repeatable): sndid=N,rcvid=N,"
		"alg=NAME,\n"
		"                      secret-file=PATH,peer=PREFIX"
		"[,maclen=N][,exclude-options]\n"
		"                      (secret= is refused: command lines are "
		"public)\n"
		"  --ao-required       peers' segments must carry AO (default)\n"
		"  --no-ao-required    let a connection opened without AO stay "
		"in the clear\n"
		"  --accept-icmps      deliver hard ICMP errors for AO flows\n"
		"  --queues N          worker threads (default 1)\n"
		"  --queue-base N      first NFQUEUE number (default %d)\n"
		"  --max-flows N       flows per worker (default %d)\n"
		"  --busy-poll USEC    after packets, keep polling the queues for up\n"
		"                      to USEC microseconds before sleeping: lower\n"
		"                      latency for CPU time (default 0: off)\n"
		"  --busy-poll-adaptive\n"
		"                      spin only while packets come close together\n"
		"  --state-dir DIR     state files (default "
		TCPAO_RUNDIR "/netns-<cookie>)\n"
		"  --pidfile FILE      write the pid there\n"
		"  --daemon            detach, log to syslog\n"
		"  --autostarted       started by libtcpao-preload: exit after "
		"10 s\n"
		"                      without sockets or keys\n"
		"  --mark VALUE        the tcpao packet mark (default 0x%x)\n"
		"  --remove-rules      remove tcpao's rules, sets and guard "
		"in this\n"
		"                      network namespace, then exit\n"
		"  --verbose           more log lines\n"
		"  --version           print the version and exit\n"
		"  --check FILE        validate a config file and exit (0: valid);\n"
		"                      warns about key-chain gaps, overlaps, expiry\n"
		"  --test-clock-offset SECONDS\n"
		"                      test aid: key chains see the clock moved by\n"
		"                      SECONDS (also TCPAOD_TEST_CLOCK_OFFSET)\n",
		DEFAULT_QUEUE_BASE, DEFAULT_MAX_FLOWS, MARK_DEFAULT);
}

static bool parse_uint(const char *s, unsigned long min, unsigned long max,
		       unsigned long *out)
{
	char *end;

	errno = 0;
	*out = strtoul(s, &end, 10);
	return !errno && *s && !*end && *out >= min && *out <= max;
}

/* A test aid: the key chains' clock runs this many seconds ahead (or
 * behind) the machine's, so tests run schedules of seconds. */
static int set_test_clock(const char *s)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || !*s || *end || v < -(1LL << 40) || v > 1LL << 40)
		return -1;
	rollover_set_offset(v);
	return 0;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	enum { O_KEY = 256, O_AOREQ, O_NOAOREQ, O_ICMPS, O_QUEUES, O_QBASE,
	       O_MAXFLOWS, O_STATE, O_PID, O_DAEMON, O_VERBOSE, O_HELP,
	       O_CONFIG, O_CONTROL, O_AUTOSTARTED, O_VERSION, O_CHECK, O_MARK,
	       O_REMOVE, O_TESTCLOCK, O_BUSY, O_BUSYADAPT };
	static const struct option longopts[] = {
		{ "key", required_argument, NULL, O_KEY },
		{ "ao-required", no_argument, NULL, O_AOREQ },
		{ "no-ao-required", no_argument, NULL, O_NOAOREQ },
		{ "accept-icmps", no_argument, NULL, O_ICMPS },
		{ "queues", required_argument, NULL, O_QUEUES },
		{ "queue-base", required_argument, NULL, O_QBASE },
		{ "max-flows", required_argument, NULL, O_MAXFLOWS },
		{ "busy-poll", required_argument, NULL, O_BUSY },
		{ "busy-poll-adaptive", no_argument, NULL, O_BUSYADAPT },
		{ "state-dir", required_argument, NULL, O_STATE },
		{ "pidfile", required_argument, NULL, O_PID },
		{ "daemon", no_argument, NULL, O_DAEMON },
		{ "verbose", no_argument, NULL, O_VERBOSE },
		{ "help", no_argument, NULL, O_HELP },
		{ "config", required_argument, NULL, O_CONFIG },
		{ "control", required_argument, NULL, O_CONTROL },
		{ "autostarted", no_argument, NULL, O_AUTOSTARTED },
		{ "version", no_argument, NULL, O_VERSION },
		{ "check", required_argument, NULL, O_CHECK },
		{ "mark", required_argument, NULL, O_MARK },
		{ "remove-rules", no_argument, NULL, O_REMOVE },
		{ "test-clock-offset", required_argument, NULL, O_TESTCLOCK },
		{ NULL, 0, NULL, 0 },
	};
	unsigned long v;
	int c;

	*o = (struct options){ .queues = 1, .queue_base = DEFAULT_QUEUE_BASE,
			       .max_flows = DEFAULT_MAX_FLOWS };
	if (getenv("TCPAOD_TEST_CLOCK_OFFSET") &&
	    set_test_clock(getenv("TCPAOD_TEST_CLOCK_OFFSET"))) {
		fprintf(stderr, "tcpaod: bad TCPAOD_TEST_CLOCK_OFFSET\n");
		return -1;
	}
	o->keys = calloc((size_t)argc, sizeof(*o->keys));
	if (!o->keys)
		return -1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case O_KEY:
			o->keys[o->nkeys++] = optarg;
			break;
		case O_AOREQ:
			o->ao_optional = false;
			break;
		case O_NOAOREQ:
			o->ao_optional = true;
			break;
		case O_ICMPS:
			o->accept_icmps = true;
			break;
		case O_QUEUES:
			if (!parse_uint(optarg, 1, 64, &v))
				goto bad;
			o->queues = (unsigned int)v;
			break;
		case O_QBASE:
			if (!parse_uint(optarg, 0, 65535 - 200, &v))
				goto bad;
			o->queue_base = (uint16_t)v;
			break;
		case O_MAXFLOWS:
			if (!parse_uint(optarg, 1, 1u << 24, &v))
				goto bad;
			o->max_flows = (uint32_t)v;
			break;
		case O_BUSY:
			if (!parse_uint(optarg, 0, BUSY_POLL_MAX_USEC, &v))
				goto bad;
			o->busy_poll_usec = (unsigned int)v;
			break;
		case O_BUSYADAPT:
			o->busy_poll_adaptive = true;
			break;
		case O_STATE:
			o->state_dir = optarg;
			break;
		case O_PID:
			o->pidfile = optarg;
			break;
		case O_DAEMON:
			o->daemonize = true;
			break;
		case O_VERBOSE:
			o->verbose = true;
			break;
		case O_CONFIG:
			o->config = optarg;
			break;
		case O_CONTROL:
			o->control_name = optarg;
			break;
		case O_AUTOSTARTED:
			o->autostarted = true;
			break;
		case O_MARK:
			if (!mark_parse(optarg, &o->mark))
				goto bad;
			break;
		case O_REMOVE:
			o->remove_rules = true;
			break;
		case O_HELP:
			usage(stdout);
			exit(0);
		case O_CHECK:
			o->config = optarg;
			o->check = true;
			break;
		case O_TESTCLOCK:
			if (set_test_clock(optarg))
				goto bad;
			break;
		case O_VERSION:
			printf("tcpaod %s (%s)\n", TCPAO_VERSION,
			       TCPAO_GIT_DESCRIBE);
			exit(0);
		default:
			usage(stderr);
			return -1;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "tcpaod: unexpected argument '%s'\n",
			argv[optind]);
		return -1;
	}
	if (o->busy_poll_adaptive && !o->busy_poll_usec) {
		fprintf(stderr, "tcpaod: --busy-poll-adaptive needs "
			"--busy-poll USEC\n");
		return -1;
	}
	return 0;
bad:
	fprintf(stderr, "tcpaod: bad value '%s'\n", optarg);
	return -1;
}

#define DEFAULT_CONFIG TCPAO_SYSCONFDIR "/tcpao.conf"

/* --key: the secret comes from a file; on the command line it would be
 * readable by every user in /proc/PID/cmdline for the daemon's life. */
static int parse_key_option(const char *spec, struct tcpao_mkt *mkt,
			    char *err, size_t errlen)
{
	char inlined[1024];
	int rc;

	if (tcpao_spec_has_inline_secret(spec)) {
		snprintf(err, errlen, "%s", TCPAO_INLINE_SECRET_ADVICE);
		return -EINVAL;
	}
	rc = tcpao_secret_file_inline(spec, inlined, sizeof(inlined), err, errlen);
	if (!rc)
		rc = tcpao_mkt_parse(inlined, mkt, err, errlen);
	explicit_bzero(inlined, sizeof(inlined));
	return rc;
}

/* --mark, else the config file's "mark", else the default. */
static void choose_mark(const struct options *o, const struct policy *policy)
{
	if (o->mark && policy->mark && o->mark != policy->mark)
		log_msg(LOG_WARNING, "--mark 0x%x overrides mark 0x%x of %s",
			o->mark, policy->mark, o->config);
	mark_set(o->mark ? o->mark : policy->mark ? policy->mark : MARK_DEFAULT);
}

/* The policy from --config (by default DEFAULT_CONFIG when it
 * exists and no --key is given), then --key options. On failure *status
 * is the exit status: 1 for the file (an operation that failed, as with
 * --check), 2 for a --key option (a bad option value). */
static struct policy *build_policy(struct options *o, int *status)
{
	struct policy *policy = NULL;
	char err[512];

	if (!o->config && !o->nkeys && !o->autostarted &&
	    access(DEFAULT_CONFIG, F_OK) == 0)
		o->config = DEFAULT_CONFIG;
	if (o->config) {
		*status = 1;
		if (config_load(o->config, &policy, err, sizeof(err))) {
			fprintf(stderr, "tcpaod: %s\n", err);
			return NULL;
		}
	} else {
		policy = policy_new();
	}
	if (!policy)
		return NULL;
	*status = 2;
	for (size_t i = 0; i < o->nkeys; i++) {
		struct tcpao_mkt mkt;
		int rc = parse_key_option(o->keys[i], &mkt, err, sizeof(err));

		if (!rc && mkt.peer.family == AF_UNSPEC) {
			snprintf(err, sizeof(err), "the key needs peer=PREFIX");
			rc = -EINVAL;
		}
		if (!rc)
			rc = policy_add_key(policy, &mkt, err, sizeof(err));
		tcpao_mkt_wipe(&mkt);
		if (rc) {
			fprintf(stderr, "tcpaod: --key #%zu: %s\n", i + 1, err);
			policy_free(policy);
			return NULL;
		}
	}
	return policy;
}

static void print_warning(void *arg, const char *msg)
{
	printf("%s: warning: %s\n", (const char *)arg, msg);
}

/* --check: the schedule's findings, per chain and per peer. */
static void check_chains(const char *file, const struct policy *policy)
{
	int64_t now = rollover_now();
	char when[32], who[64];

	for (size_t i = 0; policy->chains && i < policy->chains->n; i++)
		keychain_check(&policy->chains->v[i], now, print_warning, (void *)file);
	for (size_t i = 0; i < policy->n; i++) {
		const struct policy_peer *p = policy_entry(policy, i);
		const struct keychain *c = p ? policy_peer_chain(policy, p) : NULL;
		int64_t end = c ? keychain_end(c) : KEYCHAIN_NEVER;

		if (end == KEYCHAIN_NEVER)
			continue;
		printf("%s: warning: peer %s (%s) loses its last valid key at %s%s\n", file,
		       policy_prefix_str(&p->scope.peer, p->scope.peer_len, who, sizeof(who)),
		       p->origin, keychain_time_str(end, when, sizeof(when)),
		       end <= now ? " (already past)" : "");
	}
}

/* By the namespace's cookie: unlike its inode number, never given to
 * another namespace, so that no daemon restores flows of a namespace long
 * gone. */
static char *default_state_dir(void)
{
	static char dir[256];

	if (tcpao_ctl_rundir_path("", dir, sizeof(dir)))
		return NULL;
	return dir;
}

/* An autostarted daemon leaves when idle or told to, with nothing for a
 * successor; only a crash (SIGKILL) leaves its state behind. */
static void remove_state_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d)
		return;
	while ((e = readdir(d)))
		if (e->d_type == DT_REG)
			unlinkat(dirfd(d), e->d_name, 0);
	closedir(d);
	rmdir(dir);
}

static int write_pidfile(const char *path)
{
	struct atomic_file f;
	int rc = atomic_file_open(&f, path, 0644);

	if (rc)
		return rc;
	if (dprintf(f.fd, "%ld\n", (long)getpid()) < 0)
		rc = -EIO;
	return atomic_file_end(&f, rc);
}

static int detach(void)
{
	pid_t pid = fork();
	int null;

	if (pid < 0)
		return -errno;
	if (pid > 0)
		_exit(0);
	setsid();
	null = open("/dev/null", O_RDWR);
	if (null >= 0) {
		dup2(null, 0);
		dup2(null, 1);
		dup2(null, 2);
		if (null > 2)
			close(null);
	}
	log_to_syslog(true);
	return 0;
}

static uint64_t monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* An autostarted daemon keeps its namespace alive: it leaves once it has
 * had no socket and no key for AUTOSTART_IDLE_MS. */
static bool idle_too_long(struct daemon_ctx *d, uint64_t *idle_since)
{
	static uint64_t checked;
	uint64_t now = monotonic_ms();

	/* sockets_idle() asks sock_diag: once a second is enough. */
	if (now - checked < 1000)
		return false;
	checked = now;
	if (!sockets_idle(d)) {
		*idle_since = now;
		return false;
	}
	return now - *idle_since >= AUTOSTART_IDLE_MS;
}

/* Key ages to disk now and then (keyage.h): a SIGKILL loses at most the
 * last KEYAGE_PERIOD_MS of rotations' ages; a stop loses none. */
#define KEYAGE_PERIOD_MS 10000
static void save_key_ages(struct daemon_ctx *d, uint64_t now, bool force)
{
	int rc;

	if (!force && now - d->ages_saved_ms < KEYAGE_PERIOD_MS)
		return;
	d->ages_saved_ms = now;
	rc = keyage_save(d->state_dir, d->policy);
	if (rc)
		log_msg(LOG_WARNING, "key ages: %s/key-ages: %s", d->state_dir,
			strerror(-rc));
}

/* The loop's descriptors in one epoll set, data.u32 their place: poll()
 * put each on its wait queue and took it off again on every wake-up. */
enum { WAIT_SIGNAL, WAIT_CONTROL, WAIT_WATCH, WAIT_NFT, WAIT_TIMER, WAIT_L3DEV, WAIT_N };

static int wait_open(const int fds[WAIT_N])
{
	int ep = epoll_create1(EPOLL_CLOEXEC);

	for (uint32_t i = 0; ep >= 0 && i < WAIT_N; i++) {
		struct epoll_event ev = { .events = EPOLLIN, .data.u32 = i };

		if (fds[i] >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev)) {
			close(ep);
			ep = -1;
		}
	}
	return ep < 0 ? -errno : ep;
}

/* The places ready within timeout_ms, as bits; -1 on error. */
static long wait_ready(int ep, int timeout_ms)
{
	struct epoll_event evs[WAIT_N];
	int n = epoll_wait(ep, evs, WAIT_N, timeout_ms);
	long ready = 0;

	if (n < 0)
		return errno == EINTR ? 0 : -1;
	for (int i = 0; i < n; i++)
		ready |= 1L << evs[i].data.u32;
	return ready;
}

/* A shell starts its background jobs with SIGINT ignored, so that Ctrl-C
 * at the terminal reaches only its foreground: such a daemon leaves it
 * so (a signalfd would take a blocked signal even when ignored). */
static bool sigint_ignored(void)
{
	struct sigaction sa;

	return !sigaction(SIGINT, NULL, &sa) && sa.sa_handler == SIG_IGN;
}

/* Serves the control socket; SIGHUP reloads; SIGTERM / SIGINT stop. */
static bool main_loop(int sigfd, struct control *ctl, struct daemon_ctx *d,
		      bool autostarted)
{
	uint64_t idle_since = monotonic_ms();
	int watch = sockets_watch_open(), nft = watch_open();
	const int fds[WAIT_N] = {
		[WAIT_SIGNAL] = sigfd, [WAIT_CONTROL] = ctl ? control_fd(ctl) : -1,
		[WAIT_WATCH] = watch, [WAIT_NFT] = nft,
		[WAIT_TIMER] = d->chain_timer, [WAIT_L3DEV] = d->l3dev,
	};
	int ep = wait_open(fds);
	bool idle = false;

	if (ep < 0) {
		log_msg(LOG_ERR, "epoll: %s", strerror(-ep));
		sockets_watch_close(watch);
		if (nft >= 0)
			close(nft);
		return false;
	}
	if (watch < 0)
		log_msg(LOG_WARNING, "sock_diag destroy notifications: %s "
			"(closed sockets are found by polling)", strerror(-watch));
	if (nft < 0)
		log_msg(LOG_WARNING, "nf_tables notifications: %s (rules are "
			"checked every %d ms)", strerror(-nft), WATCH_PERIOD_MS);

	for (;;) {
		struct signalfd_siginfo si;
		char err[512];
		long ready = wait_ready(ep, WATCH_PERIOD_MS / 2);

		if (ready < 0)
			break;
		if ((ready & 1L << WAIT_SIGNAL) &&
		    read(sigfd, &si, sizeof(si)) == sizeof(si)) {
			if (si.ssi_signo == SIGTERM || si.ssi_signo == SIGINT) {
				log_msg(LOG_INFO, "signal %u: stopping",
					si.ssi_signo);
				break;
			}
			if (si.ssi_signo == SIGHUP) {
				struct audit_who who = { .by = AUDIT_BY_SIGNAL, .uid = si.ssi_uid,
							 .pid = (int32_t)si.ssi_pid };

				notify_send("RELOADING=1");
				if (daemon_reload(d, &who, err, sizeof(err)))
					log_msg(LOG_ERR, "reload: %s", err);
				else
					log_msg(LOG_INFO, "reloaded %s",
						d->config_path);
				notify_send("READY=1");
			}
		}
		if (ready & 1L << WAIT_CONTROL)
			control_handle(ctl);
		if (ready & 1L << WAIT_WATCH)
			sockets_watch_read(d, watch);
		if (ready & 1L << WAIT_NFT)
			watch_read(nft);
		if (ready & 1L << WAIT_L3DEV)
			l3dev_read(d->l3dev);
		watch_tick(d->rules, d->policy, monotonic_ms());
		/* A boundary, or a clock step (the timer is cancelled). */
		if ((ready & 1L << WAIT_TIMER) && rollover_timer_read(d->chain_timer))
			daemon_rollover(d);
		state_expire(monotonic_ms());
		if (ctl)
			control_expire(ctl, control_now_ms());
		pmtu_expire(monotonic_ms());
		audit_tick();
		save_key_ages(d, monotonic_ms(), false);
		if (autostarted && idle_too_long(d, &idle_since)) {
			log_msg(LOG_INFO, "autostarted and idle: stopping");
			idle = true;
			break;
		}
	}
	close(ep);
	sockets_watch_close(watch);
	if (nft >= 0)
		close(nft);
	return idle;
}

/* The explicit uninstall: rules, sets and guard of this namespace. */
static int remove_everything(void)
{
	struct rules r;

	rules_init(&r, 0, 1);
	rules_remove(&r);
	guard_remove_all();
	return 0;
}

/* The second line of defence; a kernel without it still runs, loudly. */
static void start_guard(const struct rules *r)
{
	char err[512];
	int rc = guard_open(mark_get(), r->members, r->nmembers, r->ports, r->nports, err,
			    sizeof(err));

	if (rc == -ENOTSUP)
		log_msg(LOG_WARNING, "WARNING: %s: running WITHOUT the guard; "
			"a firewall reload can let AO peers' segments pass "
			"unsigned until the rules are restored", err);
	else if (rc)
		log_msg(LOG_ERR, "WARNING: %s: running WITHOUT the guard", err);
	else
		log_msg(LOG_INFO, "guard attached (mark 0x%x)", mark_get());
}

int main(int argc, char **argv)
{
	struct workers_config wc;
	struct daemon_ctx d = { 0 };
	struct control *ctl;
	struct options o;
	struct policy *policy;
	struct rollover_result first;
	struct rules rules;
	sigset_t sigs;
	char err[512];
	int lock, sigfd, rc, restored, status = 1;
	bool own_state_dir, idle = false;

	if (parse_options(argc, argv, &o))
		return 2;
	log_set_verbose(o.verbose);
	if (o.remove_rules)
		return remove_everything();
	policy = build_policy(&o, &status);
	if (o.check) { /* like nft -c, bird -p: nothing is started */
		if (policy)
			check_chains(o.config, policy);
		if (policy)
			printf("%s: ok, %zu policy entries\n", o.config, policy->n);
		policy_free(policy);
		free(o.keys);
		return policy ? 0 : 1;
	}
	if (!policy)
		return status;
	choose_mark(&o, policy);
	rollover_apply(policy, rollover_now(), &first);
	d = (struct daemon_ctx){ .config_path = o.config, .chain_timer = -1,
				 .mark_from_cli = o.mark != 0,
				 .force_ao_optional = o.ao_optional,
				 .force_accept_icmps = o.accept_icmps };
	daemon_apply_flags(&d, policy);
	lock = rundir_prepare(err, sizeof(err));
	if (!lock)
		lock = rundir_lock(err, sizeof(err));
	if (lock < 0) {
		fprintf(stderr, "tcpaod: %s\n", err);
		return 1;
	}
	/* Only a directory of our own making is ever removed. */
	own_state_dir = !o.state_dir;
	if (own_state_dir)
		o.state_dir = default_state_dir();
	if (!o.state_dir) {
		fprintf(stderr, "tcpaod: state directory path too long\n");
		return 1;
	}
	/* Restored sockets count their segments per worker. */
	sockets_set_workers(o.queues);
	restored = state_load(o.state_dir, policy, err, sizeof(err));
	if (restored < 0) {
		fprintf(stderr, "tcpaod: %s\n", err);
		return 1;
	}
	keyage_restore(o.state_dir, policy);
	policy_stamp_current(policy, policy_now()); /* before the workers see it */
	d.state_dir = o.state_dir;
	d.ages_saved_ms = monotonic_ms();
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	if (!sigint_ignored())
		sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGPIPE);
	/* Blocked before any thread exists: only the signalfd sees them. */
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);
	sigfd = signalfd(-1, &sigs, SFD_CLOEXEC);
	wc = (struct workers_config){
		.count = o.queues, .max_flows = o.max_flows,
		.state_dir = o.state_dir,
		.busy_poll_usec = o.busy_poll_usec,
		.busy_poll_adaptive = o.busy_poll_adaptive,
	};
	/* Devices' VRFs known before the first packet (VRF-bound keys). */
	d.l3dev = l3dev_open();
	if (d.l3dev < 0) {
		fprintf(stderr, "tcpaod: links (rtnetlink): %s\n", strerror(-d.l3dev));
		return 1;
	}
	rules_init(&rules, o.queue_base, o.queues);
	wc.egress_base = rules.egress_base;
	wc.ingress_base = rules.ingress_base;
	wc.icmp_queue = rules.icmp_queue;
	/* Queues before rules: no packet ever meets a queue nobody reads. */
	rc = mark_check(mark_get(), err, sizeof(err));
	if (!rc)
		rc = workers_open(&wc, policy, err, sizeof(err));
	if (!rc)
		rc = rules_install(&rules, policy, err, sizeof(err));
	if (rc) {
		fprintf(stderr, "tcpaod: %s\n", err);
		workers_close();
		return 1;
	}
	start_guard(&rules);
	d.policy = policy;
	d.rules = &rules;
	d.chain_timer = rollover_timer_open();
	if (d.chain_timer < 0)
		log_msg(LOG_WARNING, "key chains: timerfd: %s (no rollover)", strerror(-d.chain_timer));
	else
		rollover_timer_arm(d.chain_timer, first.next);
	ctl = control_open(o.control_name, &daemon_ops, &d, err, sizeof(err));
	if (!ctl) {
		fprintf(stderr, "tcpaod: control socket: %s\n", err);
		guard_close();
		workers_close();
		return 1;
	}
	if (o.daemonize && detach())
		return 1;
	if (o.pidfile && write_pidfile(o.pidfile))
		log_msg(LOG_WARNING, "pidfile %s: %m", o.pidfile);
	/* Everything is open: from here on, only what running needs. Before
	 * the workers start, as capabilities are per thread. */
	rc = privs_drop(err, sizeof(err));
	if (!rc)
		rc = workers_start(err, sizeof(err));
	if (rc) {
		log_msg(LOG_ERR, "%s", err);
	} else {
		/* Once logging goes where it will (--daemon: syslog); sockets
		 * restored from the state are not audited: no change. */
		audit_diff(&(struct audit_who){ .by = o.config ? AUDIT_BY_FILE : AUDIT_BY_CMDLINE },
			   "start", NULL, d.policy);
		log_msg(LOG_INFO,
			"running: %u worker(s), queues %u-%u, %zu policy "
			"entries, %d flow(s) restored, state in %s",
			o.queues, rules.egress_base, rules.icmp_queue,
			d.policy->n, restored, o.state_dir);
		if (o.busy_poll_usec)
			log_msg(LOG_INFO, "busy polling: up to %u us after "
				"packets%s", o.busy_poll_usec,
				o.busy_poll_adaptive ? ", adaptive" : "");
		notify_send("READY=1");
		idle = main_loop(sigfd, ctl, &d, o.autostarted);
		notify_send("STOPPING=1");
		save_key_ages(&d, monotonic_ms(), true);
		workers_stop();
	}
	control_close(ctl);
	/* Only an idle autostarted daemon has nothing to protect; any other
	 * stop leaves rules and guard: closed until the next daemon. */
	if (idle)
		remove_everything();
	rules_free(&rules);
	guard_close();
	workers_close();
	l3dev_close(d.l3dev);
	state_free();
	if (o.autostarted && own_state_dir && !rc)
		remove_state_dir(o.state_dir);
	policy_free(d.policy);
	if (o.pidfile)
		unlink(o.pidfile);
	rundir_unlock(lock);
	free(o.keys);
	return rc ? 1 : 0;
}
