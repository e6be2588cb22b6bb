/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The L3 master device (VRF) of each network device, for the datapath's
 * key lookups (Linux's TCP_AO_KEYF_IFINDEX: a key bound to ifindex N
 * matches only segments whose L3 master is N).
 *
 * One writer, the main loop: an RTM_GETLINK dump at l3dev_open(), then
 * link notifications (l3dev_read()). Workers read with l3dev_index():
 * no lock, no system call, a sequence counter makes a read that raced a
 * change retry. Only VRF devices and their direct slaves are recorded;
 * every other device answers 0 (the default VRF), as Linux's
 * l3mdev_master_ifindex() does for a bridge port or a plain device.
 */
#ifndef TCPAOD_L3DEV_H
#define TCPAOD_L3DEV_H

#include <stdbool.h>

/* Dumps the links of this namespace and subscribes to their changes.
 * Returns the notification socket (for poll) or a negative errno. */
int l3dev_open(void);
/* Applies pending notifications; a lost one (ENOBUFS) costs a dump. */
void l3dev_read(int fd);
void l3dev_close(int fd);

/* The l3 index of a device: its own index for a VRF, its VRF's for a
 * VRF's slave, 0 otherwise (and for 0, an unknown device). */
int l3dev_index(int ifindex);

#endif
