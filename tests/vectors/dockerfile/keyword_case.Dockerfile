from alpine As Builder
Run echo hi
cOpY --from=builder a b
