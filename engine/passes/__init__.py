"""Graph -> Graph passes before and around lowering: fuse_pad (PAD into the conv) and reorder
(the topological order with the lowest planned peak, with its search)."""
