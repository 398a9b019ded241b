#!/usr/bin/python3
"""Print the wire-relevant facts of a compiled descriptor set, one per line, sorted.

Usage: proto-manifest.py DESCRIPTOR_SET [PACKAGE...]

The input is what `protoc --include_imports --descriptor_set_out=FILE` writes.
Only files whose package is listed are described (all files when none is given),
so imported well-known types do not leak into the manifest.

Line kinds (the first word), with the top-level symbol as the second word so a
checker can group lines per message, enum or service:

  message TOP FULL_NAME [map_entry]
  field   TOP MESSAGE NUMBER NAME TYPE LABEL [TYPE_NAME] [oneof=NAME] [packed=BOOL]
  enum    TOP ENUM NUMBER NAME
  method  TOP SERVICE INDEX NAME INPUT OUTPUT [client_streaming] [server_streaming]

Presence-only details are left out on purpose: a proto3 `optional` field is
encoded exactly like a plain one, so its synthetic oneof is not reported.
"""
import sys

from google.protobuf import descriptor_pb2

TYPE_NAMES = {v: k for k, v in descriptor_pb2.FieldDescriptorProto.Type.items()}
LABEL_NAMES = {v: k for k, v in descriptor_pb2.FieldDescriptorProto.Label.items()}


def describe_enum(lines, top, full, enum):
    for value in enum.value:
        lines.append(f"enum {top} {full} {value.number} {value.name}")


def describe_message(lines, top, full, msg):
    head = f"message {top} {full}"
    if msg.options.map_entry:
        head += " map_entry"
    lines.append(head)
    for field in msg.field:
        parts = [
            "field", top, full, str(field.number), field.name,
            TYPE_NAMES[field.type], LABEL_NAMES[field.label],
        ]
        if field.type_name:
            parts.append(field.type_name.lstrip("."))
        if field.HasField("oneof_index") and not field.proto3_optional:
            parts.append("oneof=" + msg.oneof_decl[field.oneof_index].name)
        if field.options.HasField("packed"):
            # proto3 packs repeated scalars unless told otherwise; an explicit
            # choice changes the encoding, so it is a wire fact.
            parts.append("packed=" + str(field.options.packed).lower())
        lines.append(" ".join(parts))
    for nested in msg.nested_type:
        describe_message(lines, top, f"{full}.{nested.name}", nested)
    for enum in msg.enum_type:
        describe_enum(lines, top, f"{full}.{enum.name}", enum)


def describe_file(lines, f):
    prefix = f.package + "." if f.package else ""
    for msg in f.message_type:
        name = prefix + msg.name
        describe_message(lines, name, name, msg)
    for enum in f.enum_type:
        name = prefix + enum.name
        describe_enum(lines, name, name, enum)
    for svc in f.service:
        name = prefix + svc.name
        for index, m in enumerate(svc.method):
            parts = [
                "method", name, name, str(index), m.name,
                m.input_type.lstrip("."), m.output_type.lstrip("."),
            ]
            if m.client_streaming:
                parts.append("client_streaming")
            if m.server_streaming:
                parts.append("server_streaming")
            lines.append(" ".join(parts))


def main(argv):
    if len(argv) < 2:
        print("usage: proto-manifest.py DESCRIPTOR_SET [PACKAGE...]", file=sys.stderr)
        return 2
    fds = descriptor_pb2.FileDescriptorSet()
    try:
        with open(argv[1], "rb") as src:
            fds.ParseFromString(src.read())
    except (OSError, Exception) as exc:  # bad path or not a descriptor set
        print(f"proto-manifest: {argv[1]}: {exc}", file=sys.stderr)
        return 1
    packages = set(argv[2:])
    lines = []
    for f in fds.file:
        if not packages or f.package in packages:
            describe_file(lines, f)
    sys.stdout.write("".join(line + "\n" for line in sorted(lines)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
