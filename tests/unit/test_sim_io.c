/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of adapters/sim/sim_io.c: the fault-injecting io shim, over the
 * in-memory file system (deterministic, no disk) and over io_posix (to show
 * the pass-through and the posix backend's own error returns).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "io.h"
#include "io_posix.h"
#include "log.h"
#include "sim_io.h"
#include "sink.h"
#include "sink_mem.h"

struct fx {
	struct sink_mem_fs *fs;
	struct sim_faults faults;
	struct sim_io sim;
	const struct io *io;   /* the shim */
};

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	assert_int_equal(sink_mem_fs_create(&fx->fs), 0);
	sim_io_init(&fx->sim, sink_mem_fs_io(fx->fs), &fx->faults);
	fx->io = sim_io_io(&fx->sim);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;

	assert_int_equal(sink_mem_fs_open_fds(fx->fs), 0);
	sink_mem_fs_destroy(fx->fs);
	free(fx);
	return 0;
}

static int create(struct fx *fx, const char *name)
{
	return io_openat(fx->io, AT_FDCWD, name, O_WRONLY | O_CREAT | O_TRUNC, 0660, 0, 0);
}

static size_t size_of(struct fx *fx, const char *name)
{
	const uint8_t *data;
	size_t len = 0;

	assert_int_equal(sink_mem_fs_read(fx->fs, name, &data, &len), 0);
	return len;
}

/* A transient fault fails exactly the nth call from now, with no effect, then calls succeed. */
static void test_transient_nth_call(void **state)
{
	struct fx *fx = *state;
	int fd = create(fx, "f");

	assert_true(fd >= 0);
	assert_int_equal(io_pwrite(fx->io, fd, "aaaa", 4, 0), 4);
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_PWRITE, .nth = 2, .err = ENOSPC }), 0);
	assert_int_equal(io_pwrite(fx->io, fd, "bbbb", 4, 4), 4);
	assert_int_equal(io_pwrite(fx->io, fd, "cccc", 4, 8), -ENOSPC);
	assert_int_equal(size_of(fx, "f"), 8);
	assert_int_equal(io_pwrite(fx->io, fd, "cccc", 4, 8), 4);
	assert_int_equal(size_of(fx, "f"), 12);
	assert_int_equal(fx->faults.op[SIM_IO_PWRITE].calls, 4);
	assert_int_equal(fx->faults.op[SIM_IO_PWRITE].fired, 1);
	assert_int_equal(fx->faults.op[SIM_IO_OPENAT].calls, 1);
	assert_int_equal(sim_fault_fired(&fx->faults, SIM_KIND_IO), 1);
	assert_int_equal(io_close(fx->io, fd), 0);
}

/* A persistent fault keeps failing (nothing created) until disarmed. */
static void test_persistent_until_disarmed(void **state)
{
	struct fx *fx = *state;
	int fd;

	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_OPENAT, .nth = 1, .every = 1, .err = EIO }), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(create(fx, "g"), -EIO);
	assert_int_equal(sink_mem_fs_file_count(fx->fs), 0);
	sim_fault_disarm(&fx->faults, SIM_IO_OPENAT);
	fd = create(fx, "g");
	assert_true(fd >= 0);
	assert_int_equal(fx->faults.op[SIM_IO_OPENAT].fired, 3);
	assert_int_equal(fx->faults.op[SIM_IO_OPENAT].calls, 4);
	/* EINTR is only a return value too: the caller's retry succeeds. */
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_WRITE, .nth = 1, .err = EINTR }), 0);
	assert_int_equal(io_write(fx->io, fd, "xy", 2), -EINTR);
	assert_int_equal(io_write(fx->io, fd, "xy", 2), 2);
	assert_int_equal(size_of(fx, "g"), 2);
	assert_int_equal(io_close(fx->io, fd), 0);
}

/* Short writes: half goes through, the count says so; 1 byte cannot be shortened. */
static void test_short_writes(void **state)
{
	struct fx *fx = *state;
	int fd = create(fx, "s");

	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_WRITE, .nth = 1, .err = SIM_FAULT_SHORT }), 0);
	assert_int_equal(io_write(fx->io, fd, "0123456789", 10), 5);
	assert_int_equal(size_of(fx, "s"), 5);
	assert_int_equal(io_write(fx->io, fd, "56789", 5), 5);
	assert_int_equal(size_of(fx, "s"), 10);
	assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
		.op = SIM_IO_PWRITE, .nth = 1, .every = 1, .err = SIM_FAULT_SHORT }), 0);
	assert_int_equal(io_pwrite(fx->io, fd, "abcdefgh", 8, 0), 4);
	assert_int_equal(io_pwrite(fx->io, fd, "efgh", 4, 4), 2);
	assert_int_equal(io_pwrite(fx->io, fd, "g", 1, 6), 1);
	assert_int_equal(fx->faults.op[SIM_IO_PWRITE].fired, 3);
	assert_int_equal(io_close(fx->io, fd), 0);
}

/* Every call can be failed and is counted; a failing close still releases the fd. */
static void test_every_call_faultable(void **state)
{
	struct fx *fx = *state;
	int fd = create(fx, "c");
	struct stat st;

	assert_true(fd >= 0);
	for (int c = SIM_IO_OPENAT; c < SIM_ALLOC; c++)
		assert_int_equal(sim_fault_arm(&fx->faults, &(struct sim_fault){
			.op = c, .nth = 1, .err = EIO }), 0);
	assert_int_equal(create(fx, "d"), -EIO);
	assert_int_equal(io_write(fx->io, fd, "x", 1), -EIO);
	assert_int_equal(io_pwrite(fx->io, fd, "x", 1, 0), -EIO);
	assert_int_equal(io_ftruncate(fx->io, fd, 1), -EIO);
	assert_int_equal(io_fsync(fx->io, fd), -EIO);
	assert_int_equal(io_fdatasync(fx->io, fd), -EIO);
	assert_int_equal(io_unlinkat(fx->io, AT_FDCWD, "c", 0), -EIO);
	assert_int_equal(io_fstat(fx->io, fd, &st), -EIO);
	assert_int_equal(io_send(fx->io, fd, "x", 1), -EIO);
	assert_int_equal(io_recv(fx->io, fd, &st, 1), -EIO);
	assert_int_equal(size_of(fx, "c"), 0);
	assert_int_equal(io_close(fx->io, fd), -EIO);
	assert_int_equal(sink_mem_fs_open_fds(fx->fs), 0);
	for (int c = SIM_IO_OPENAT; c < SIM_ALLOC; c++) {
		assert_int_equal(fx->faults.op[c].fired, 1);
		assert_int_equal(fx->faults.op[c].calls, c == SIM_IO_OPENAT ? 2 : 1);
	}
	assert_int_equal(sim_fault_fired(&fx->faults, SIM_KIND_IO), SIM_ALLOC - SIM_IO_OPENAT);
	assert_int_equal(sim_fault_fired(&fx->faults, SIM_KIND_RB), 0);
	/* Pass-through once disarmed (faults were transient). */
	assert_int_equal(io_unlinkat(fx->io, AT_FDCWD, "c", 0), 0);
	/* The in-memory file system has no sockets. */
	assert_int_equal(io_send(fx->io, 0, "x", 1), -ENOTSOCK);
	assert_int_equal(io_recv(fx->io, 0, &st, 1), -ENOTSOCK);
}

/* Over io_posix: every call passes through; the posix backend reports -errno itself. */
static void test_posix_pass_through(void **state)
{
	struct sim_faults faults = { 0 };
	struct sim_io sim;
	const struct io *io = sim_io_io(&sim);
	char dir[] = "/tmp/sluice-simio-XXXXXX";
	struct stat st;
	int dfd, fd;

	(void)state;
	sim_io_init(&sim, &io_posix, &faults);
	assert_non_null(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	assert_true(dfd >= 0);
	fd = io_openat(io, dfd, "f", O_WRONLY | O_CREAT | O_TRUNC, 0660, getuid(), getgid());
	assert_true(fd >= 0);
	assert_int_equal(io_write(io, fd, "hello", 5), 5);
	assert_int_equal(io_pwrite(io, fd, "J", 1, 0), 1);
	assert_int_equal(io_ftruncate(io, fd, 4), 0);
	assert_int_equal(io_fsync(io, fd), 0);
	assert_int_equal(io_fdatasync(io, fd), 0);
	assert_int_equal(io_fstat(io, fd, &st), 0);
	assert_int_equal(st.st_size, 4);
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(io_close(io, fd), 0);
	assert_int_equal(io_unlinkat(io, dfd, "f", 0), 0);
	{
		int sv[2];
		char got[8];

		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
		assert_int_equal(io_send(io, sv[0], "ping", 4), 4);
		assert_int_equal(io_recv(io, sv[1], got, sizeof(got)), 4);
		assert_memory_equal(got, "ping", 4);
		assert_int_equal(close(sv[1]), 0);
		/* A closed peer: EOF on recv, EPIPE (and no SIGPIPE) on send. */
		assert_int_equal(io_recv(&io_posix, sv[0], got, sizeof(got)), 0);
		assert_int_equal(io_send(&io_posix, sv[0], "x", 1), -EPIPE);
		assert_int_equal(close(sv[0]), 0);
	}
	for (int c = SIM_IO_OPENAT; c < SIM_ALLOC; c++)
		assert_int_equal(faults.op[c].calls, 1);
	assert_int_equal(sim_fault_fired(&faults, SIM_KIND_IO), 0);

	/* Error returns of the real syscalls cross the seam as -errno. */
	assert_int_equal(io_openat(&io_posix, dfd, "f", O_WRONLY, 0, getuid(), getgid()), -ENOENT);
	assert_int_equal(io_write(&io_posix, -1, "x", 1), -EBADF);
	assert_int_equal(io_pwrite(&io_posix, -1, "x", 1, 0), -EBADF);
	assert_int_equal(io_ftruncate(&io_posix, -1, 0), -EBADF);
	assert_int_equal(io_fsync(&io_posix, -1), -EBADF);
	assert_int_equal(io_fdatasync(&io_posix, -1), -EBADF);
	assert_int_equal(io_close(&io_posix, -1), -EBADF);
	assert_int_equal(io_unlinkat(&io_posix, dfd, "f", 0), -ENOENT);
	assert_int_equal(io_fstat(&io_posix, -1, &st), -EBADF);
	/* No O_CREAT: plain open, no mode fix-up. */
	fd = io_openat(&io_posix, dfd, ".", O_RDONLY | O_DIRECTORY, 0, getuid(), getgid());
	assert_true(fd >= 0);
	assert_int_equal(io_close(&io_posix, fd), 0);
	close(dfd);
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_transient_nth_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persistent_until_disarmed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_short_writes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_every_call_faultable, setup, teardown),
		cmocka_unit_test(test_posix_pass_through),
	};

	log_level = -1;
	return cmocka_run_group_tests_name("sim_io", tests, NULL, NULL);
}
