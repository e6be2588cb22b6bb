/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The L3 domain (VRF) of a device, as Linux's key lookups take it from a
 * socket's bound device: l3mdev_master_ifindex_by_index().
 */
#ifndef TCPAO_L3MDEV_H
#define TCPAO_L3MDEV_H

/* ifindex itself for a VRF device, its VRF for a device enslaved to one,
 * else (and for 0, or when it cannot be asked) 0. */
int l3mdev_master_ifindex(int ifindex);

#endif
