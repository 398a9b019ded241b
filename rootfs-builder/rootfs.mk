# rootfs-builder: rules added by its component
