# kernel: rules added by its component
GUEST_FILES :=
.PHONY: guest
guest:
