# bench: rules added by its component
