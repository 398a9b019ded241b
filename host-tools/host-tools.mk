# host-tools: rules added by its component
