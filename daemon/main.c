/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * sluice-consumerd: a drop-in lttng-consumerd (UST, 64-bit).
 *
 * The session daemon spawns it with `lttng-consumerd "" -u --consumerd-cmd-sock PATH
 * --consumerd-err-sock PATH --group NAME`.  This file only wires things: the command line,
 * signals, the start-up handshake, the liblttng-ust-ctl adapter, and one thread per event loop
 * (cmd in the main thread; metadata, data and health in their own).  All consumer logic is in
 * core/ (core/consumer.h).
 *
 * Exit: the consumer calls on_quit once the session daemon closed the command socket and every
 * stream is written and closed; SIGTERM / SIGINT stop the loops at once.  Both end in the same
 * teardown: loops stopped, threads joined, consumer_destroy().
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <urcu.h>

#include "cli.h"
#include "consumer.h"
#include "fd_limit.h"
#include "handshake.h"
#include "health.h"
#include "io_posix.h"
#include "log.h"
#include "loop_epoll.h"
#include "ustctl_rb.h"
#include "ustctl_sigbus.h"

/* Heartbeat of every loop; a loop stuck in a handler misses it and turns unhealthy. */
#define HEARTBEAT_NS (1000ull * 1000 * 1000)
/* At exit, the longest wait for the adapter's pending channel destroys. */
#define EXIT_DRAIN_MS 1000

enum { LOOP_CMD, LOOP_METADATA, LOOP_DATA, LOOP_HEALTH, NR_LOOPS };

struct daemon {
	struct loop_epoll *loops[NR_LOOPS];
	pthread_t threads[NR_LOOPS];
	bool thread_started[NR_LOOPS];
	struct health *health;
	struct consumer *consumer;
	int signal_fd;
	int exit_code;
};

static const char *const loop_names[NR_LOOPS] = { "cmd", "metadata", "data", "health" };

/* Health components each loop's heartbeat stands for. */
static const enum health_comp loop_comps[NR_LOOPS][2] = {
	[LOOP_CMD] = { HEALTH_SESSIOND, HEALTH_CHANNEL_MGMT },
	[LOOP_METADATA] = { HEALTH_METADATA, HEALTH_METADATA_TIMER },
	[LOOP_DATA] = { HEALTH_DATA, HEALTH_DATA },
	[LOOP_HEALTH] = { HEALTH_NR_COMP, HEALTH_NR_COMP },
};

struct heartbeat {
	struct daemon *d;
	int loop;
};

static struct heartbeat heartbeats[NR_LOOPS];

/* Log prefix of lttng's tools: wall-clock time and [pid/tid]. */
static void wall_prefix(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	localtime_r(&ts.tv_sec, &tm);
	snprintf(buf, len, "%02d:%02d:%02d.%06ld [%d/%ld]", tm.tm_hour, tm.tm_min, tm.tm_sec,
		 ts.tv_nsec / 1000, (int)getpid(), (long)syscall(SYS_gettid));
}

static void heartbeat_fire(void *arg)
{
	struct heartbeat *hb = arg;

	for (int i = 0; i < 2; i++) {
		if (loop_comps[hb->loop][i] != HEALTH_NR_COMP)
			health_tick(hb->d->health, loop_comps[hb->loop][i]);
	}
}

static void stop_all(struct daemon *d)
{
	for (int i = 0; i < NR_LOOPS; i++) {
		if (d->loops[i])
			loop_epoll_stop(d->loops[i]);
	}
}

static void on_quit(void *arg)
{
	struct daemon *d = arg;

	DBG("consumer finished: every stream written and closed");
	stop_all(d);
}

static void on_signal(void *arg, int fd, unsigned int events)
{
	struct daemon *d = arg;
	struct signalfd_siginfo si;

	(void)events;
	if (read(fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
		DBG("signal %u received, quitting", si.ssi_signo);
	stop_all(d);
}

static void on_health_client(void *arg, int fd, unsigned int events)
{
	struct daemon *d = arg;

	(void)fd;
	(void)events;
	if (health_handle_listen_ready(d->health) < 0)
		WARN("health socket: serving a client failed");
}

/* Body of the metadata, data and health threads. */
static void *loop_thread(void *arg)
{
	struct loop_epoll *l = arg;
	int ret;

	rcu_register_thread();
	ret = loop_epoll_run(l);
	if (ret < 0)
		ERR("loop thread stopped on error %d", ret);
	rcu_unregister_thread();
	return NULL;
}

/* Every stream costs descriptors: take all the session daemon's limits allow (fd_limit.h). */
static void raise_fd_limit(void)
{
	struct fd_limit fl = { 0 };
	int ret = fd_limit_raise(geteuid() == 0, &fl);

	if (ret < 0)
		PERROR_NUM(-ret, "raise RLIMIT_NOFILE (soft %llu, hard %llu)",
			   (unsigned long long)fl.soft_before, (unsigned long long)fl.hard_before);
	else
		DBG("RLIMIT_NOFILE: soft %llu -> %llu, hard %llu -> %llu",
		    (unsigned long long)fl.soft_before, (unsigned long long)fl.soft,
		    (unsigned long long)fl.hard_before, (unsigned long long)fl.hard);
}

/* Block SIGTERM/SIGINT in every thread (they arrive through a signalfd), ignore SIGPIPE. */
static int setup_signals(struct daemon *d)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
		return -1;
	d->signal_fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (d->signal_fd < 0) {
		PERROR_NUM(errno, "signalfd");
		return -1;
	}
	if (ustctl_sigbus_install() < 0) {
		ERR("cannot install the SIGBUS handler liblttng-ust-ctl needs");
		return -1;
	}
	return 0;
}

static int start_health(struct daemon *d)
{
	char path[256];
	int ret;

	ret = health_create(health_clock_monotonic, NULL, HEALTH_DEFAULT_TIMEOUT_NS, &d->health);
	if (ret < 0)
		return ret;
	for (int c = 0; c < HEALTH_NR_COMP; c++)
		health_idle_leave(d->health, c); /* the heartbeats keep them healthy */
	if (cli_health_path(geteuid(), getenv, path, sizeof(path)) < 0) {
		WARN("no health socket: cannot derive its path");
		return 0;
	}
	/* Optional, as in the stock consumer: a failure here is not fatal. */
	if (health_listen(d->health, path, (gid_t)-1) < 0) {
		WARN("no health socket at %s", path);
		return 0;
	}
	return loop_add_fd(loop_epoll_loop(d->loops[LOOP_HEALTH]), health_listen_fd(d->health),
			   "health socket", on_health_client, d, NULL);
}

static int run(struct daemon *d, const struct cli_opts *opts)
{
	struct handshake_socks socks;
	struct rb rb;
	int ret;

	handshake_socks_init(&socks);
	for (int i = 0; i < NR_LOOPS; i++) {
		ret = loop_epoll_create(loop_names[i], &d->loops[i]);
		if (ret < 0)
			return ret;
		heartbeats[i] = (struct heartbeat){ .d = d, .loop = i };
	}
	ret = start_health(d);
	if (ret < 0)
		return ret;
	for (int i = 0; i < NR_LOOPS; i++) {
		ret = loop_add_timer(loop_epoll_loop(d->loops[i]), HEARTBEAT_NS, HEARTBEAT_NS,
				     "health heartbeat", heartbeat_fire, &heartbeats[i], NULL);
		if (ret < 0)
			return ret;
	}
	ret = loop_add_fd(loop_epoll_loop(d->loops[LOOP_CMD]), d->signal_fd, "signals", on_signal,
			  d, NULL);
	if (ret < 0)
		return ret;
	ret = ustctl_rb_init(&rb);
	if (ret < 0)
		return ret;

	/* §1.2: connect the error socket, listen, send the ready code, accept cmd + metadata. */
	ret = handshake_run(opts->err_sock_path, opts->cmd_sock_path, 0, &socks);
	if (ret < 0)
		return ret;

	struct consumer_env env = {
		.rb = &rb,
		.io = &io_posix,
		.cmd_loop = loop_epoll_loop(d->loops[LOOP_CMD]),
		.metadata_loop = loop_epoll_loop(d->loops[LOOP_METADATA]),
		.data_loop = loop_epoll_loop(d->loops[LOOP_DATA]),
		.cmd_fd = socks.cmd_fd,
		.metadata_fd = socks.metadata_fd,
		.on_quit = on_quit,
		.on_quit_arg = d,
	};
	ret = consumer_create(&env, &d->consumer);
	if (ret < 0) {
		handshake_close(&socks);
		return ret;
	}
	/* The consumer owns cmd_fd and metadata_fd now; the error socket stays ours, silent. */
	socks.cmd_fd = -1;
	socks.metadata_fd = -1;

	for (int i = LOOP_METADATA; i < NR_LOOPS; i++) {
		ret = pthread_create(&d->threads[i], NULL, loop_thread, d->loops[i]);
		if (ret != 0) {
			ERR("pthread_create: %s", log_strerror(ret));
			stop_all(d);
			break;
		}
		d->thread_started[i] = true;
	}
	if (ret == 0) {
		ret = loop_epoll_run(d->loops[LOOP_CMD]);
		stop_all(d);
	}
	for (int i = LOOP_METADATA; i < NR_LOOPS; i++) {
		if (d->thread_started[i])
			pthread_join(d->threads[i], NULL);
	}
	handshake_close(&socks);
	return ret;
}

static void teardown(struct daemon *d)
{
	if (d->consumer) {
		struct consumer_stats st;

		consumer_get_stats(d->consumer, &st);
		DBG("exiting: %" PRIu64 " commands, %" PRIu64 " packets (%" PRIu64 " bytes) written",
		    st.commands, st.packets_written, st.bytes_written);
		consumer_destroy(d->consumer);
	}
	/*
	 * Channel destroys run on the adapter's reaper thread: give them a
	 * moment, never more (one stuck on a corrupted ring buffer must not hold
	 * the exit up; the watchdog would end it within its deadline anyway).
	 */
	if (!ustctl_rb_drain(EXIT_DRAIN_MS))
		WARN("exiting with a ring-buffer teardown still running (%lu channel(s) abandoned)",
		     ustctl_rb_abandoned_channels());
	for (int i = 0; i < NR_LOOPS; i++)
		loop_epoll_destroy(d->loops[i]);
	health_destroy(d->health);
	if (d->signal_fd >= 0)
		close(d->signal_fd);
}

int main(int argc, char **argv)
{
	struct daemon d = { .signal_fd = -1 };
	struct cli_opts opts;
	int ret;

	switch (cli_parse(argc, argv, &opts, NULL, NULL)) {
	case CLI_EXIT_OK:
		return EXIT_SUCCESS;
	case CLI_EXIT_USAGE:
		return EXIT_FAILURE;
	case CLI_RUN:
		break;
	}
	log_level = cli_log_level(&opts);
	log_set_prefix(wall_prefix);
	if ((opts.daemonize || opts.background) && daemon(0, opts.background) < 0) {
		PERROR_NUM(errno, "daemon");
		return EXIT_FAILURE;
	}
	raise_fd_limit();
	rcu_register_thread();
	ret = setup_signals(&d);
	if (ret == 0)
		ret = run(&d, &opts);
	teardown(&d);
	rcu_unregister_thread();
	if (ret < 0) {
		ERR("sluice-consumerd stopped on error: %s", log_strerror(-ret));
		return EXIT_FAILURE;
	}
	return EXIT_SUCCESS;
}
