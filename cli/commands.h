/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The subcommands of `tcpao`. Each takes its own argv (argv[0] is the
 * subcommand's name) and returns the exit status.
 */
#ifndef TCPAO_CLI_COMMANDS_H
#define TCPAO_CLI_COMMANDS_H

int cmd_verify(int argc, char **argv);
int cmd_key(int argc, char **argv);
int cmd_show(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_reload(int argc, char **argv);
int cmd_clock(int argc, char **argv);
int cmd_demo(int argc, char **argv);

#endif
