# agent: rules added by its component
