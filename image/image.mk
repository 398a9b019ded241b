# image: rules added by its component
