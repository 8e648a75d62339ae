/* SPDX-License-Identifier: MIT */
/*
 * secretcmd.h - `cmd:` secrets: a program run on the host prints the value
 * (issue 18 point 4).
 *
 * A reference "cmd:PROGRAM ARGS..." is split into words without a shell:
 * words are separated by spaces or tabs; a word containing spaces is
 * written in double quotes ("a b"), which must enclose the whole word and
 * cannot contain a double quote; a single quote, a backslash, a control
 * character, a quote in the middle of a word or an unterminated quote is
 * refused (rather than guessed at).  PROGRAM is an absolute path or a bare
 * name looked up in islo-net's own $PATH; at most SECRET_CMD_MAXARGS words.
 */
#ifndef ISLO_SECRETCMD_H
#define ISLO_SECRETCMD_H

#include <stddef.h>
#include <stdint.h>

#define SECRET_CMD_MAXARGS   64
#define SECRET_CMD_TIMEOUT_MS 10000   /* the program's time to answer */
#define SECRET_CMD_ERRTAIL   200      /* bytes of its stderr in a message */

/**
 * secret_cmd_split() - Split a cmd: reference's command into words
 * @cmd:    The text after "cmd:"
 * @argv:   Set to a malloc'd NULL-terminated array of malloc'd words
 *          (secret_cmd_free()); NULL on error
 * @err:    On error: what is unclear, with its byte offset (never the text:
 *          it may be a pasted secret)
 * @errlen: Size of @err
 * Return: the number of words (at least 1), or -1 on error
 */
int secret_cmd_split(const char *cmd, char ***argv, char *err, size_t errlen);

/* secret_cmd_free() - Free what secret_cmd_split() made; NULL is fine. */
void secret_cmd_free(char **argv);

/**
 * secret_cmd_run() - Run a program and take its trimmed standard output
 * @argv:       Program and arguments (secret_cmd_split())
 * @names:      Variables passed from islo-net's environment besides the
 *              clean set (PATH, HOME, USER, LOGNAME, LANG), NULL-terminated;
 *              NULL: none
 * @timeout_ms: Killed (SIGKILL) and refused after this long
 * @out:        Buffer for the value, of @cap bytes (a secret mapping)
 * @cap:        Its size; output longer than @cap - 1 bytes is refused
 * @len:        The value's length, leading and trailing white space cut
 * @err:        On error: what went wrong (exit status, timeout, and the
 *              program's stderr escaped and cut to SECRET_CMD_ERRTAIL
 *              bytes); never its standard output
 * @errlen:     Size of @err
 *
 * The program runs with standard input from /dev/null, no other
 * descriptor of ours (they are all closed), PR_SET_PDEATHSIG so it dies
 * with islo-net, and islo-net's own user and namespaces (the host's, never
 * the sandbox's).  Its stderr is read but shown only in @err.
 *
 * Return: 0, or -1 on error (@out zeroed)
 */
int secret_cmd_run(char *const *argv, char *const *names, int timeout_ms,
		   uint8_t *out, size_t cap, size_t *len, char *err,
		   size_t errlen);

/**
 * secret_cmd_forbid() - From now on, refuse to run programs
 *
 * Called by isolate_serving() (isolation.c): the serving process's filter
 * allows neither fork nor execve, so a cmd: secret met later (a profile
 * reload, a sandbox added to `serve`) must be refused with a message, not
 * kill the process.
 */
void secret_cmd_forbid(void);

/* secret_cmd_forbidden() - Has secret_cmd_forbid() been called? */
int secret_cmd_forbidden(void);

#endif
