/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The only door to protobuf-c: pack, unpack, check, free. Every other module handles
 * messages through the generated structs, their __INIT macros and their descriptors.
 */
#ifndef CRUX_PB_H
#define CRUX_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* Bytes the packed form of msg takes. */
size_t pb_packed_size(const ProtobufCMessage *msg);

/* Pack msg into out, which holds pb_packed_size(msg) bytes; returns the bytes written. */
size_t pb_pack(const ProtobufCMessage *msg, void *out);

/*
 * Unpack len bytes as a desc message. 0 and *ret (free with pb_free()), -EBADMSG if the
 * bytes are not a valid desc message (bad wire data or a required field missing).
 */
int pb_unpack(const ProtobufCMessageDescriptor *desc, const void *buf, size_t len, void **ret);

/* Whether every required field of msg (and of its sub-messages) is set. */
bool pb_check(const ProtobufCMessage *msg);

/* Free a message returned by pb_unpack(); NULL is fine. */
void pb_free(void *msg);

/* The name of an enum value ("UNIXSK" for fd_types 5), or NULL if desc has no such value. */
const char *pb_enum_name(const ProtobufCEnumDescriptor *desc, int value);

/* "core_entry": the message's name as the .proto spells it. */
const char *pb_name(const ProtobufCMessageDescriptor *desc);

#endif /* CRUX_PB_H */
