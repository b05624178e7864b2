/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * systemd's readiness protocol without libsystemd (sd_notify(3)): one datagram of
 * "KEY=VALUE\n..." lines to the unix socket named by $NOTIFY_SOCKET ('@': abstract).
 */
#ifndef CRUX_SDNOTIFY_H
#define CRUX_SDNOTIFY_H

/* 0 also when NOTIFY_SOCKET is unset (not started by systemd); -errno on failure. */
int sdnotify(const char *state);

#endif /* CRUX_SDNOTIFY_H */
