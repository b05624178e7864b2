// SPDX-License-Identifier: GPL-2.0-only
/* The only file that calls protobuf_c_*: see include/pb.h. */
#include <errno.h>

#include "pb.h"

size_t pb_packed_size(const ProtobufCMessage *msg)
{
	return protobuf_c_message_get_packed_size(msg);
}

size_t pb_pack(const ProtobufCMessage *msg, void *out)
{
	return protobuf_c_message_pack(msg, out);
}

int pb_unpack(const ProtobufCMessageDescriptor *desc, const void *buf, size_t len, void **ret)
{
	ProtobufCMessage *msg;

	/* protobuf-c refuses a message whose required fields are absent, as CRIU does. */
	msg = protobuf_c_message_unpack(desc, NULL, len, buf);
	if (!msg)
		return -EBADMSG;
	*ret = msg;
	return 0;
}

bool pb_check(const ProtobufCMessage *msg)
{
	return protobuf_c_message_check(msg);
}

void pb_free(void *msg)
{
	if (msg)
		protobuf_c_message_free_unpacked(msg, NULL);
}

const char *pb_enum_name(const ProtobufCEnumDescriptor *desc, int value)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(desc, value);

	return v ? v->name : NULL;
}

const char *pb_name(const ProtobufCMessageDescriptor *desc)
{
	return desc->name;
}
