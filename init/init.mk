# init: rules added by its component
