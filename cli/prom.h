/* SPDX-License-Identifier: GPL-2.0-or-later */
/* tcpao stat --prometheus [--keys] | --textfile FILE [--keys] (cli/prom.c). */
#ifndef TCPAO_CLI_PROM_H
#define TCPAO_CLI_PROM_H

#include <stdio.h>

/* argv[0] is "stat". Exit status: 0, 1 (tcpaod not reached: the output
 * still says tcpao_up 0), 2 (usage). */
int cmd_stat_prometheus(int argc, char **argv, void (*usage)(FILE *f));

#endif
