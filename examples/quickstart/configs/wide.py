# An OpenMMLab-style experiment: inherit the base, change what differs.
_base_ = "base.yaml"

model = dict(width_multiplier=2, norm=dict(_delete_=True, type="GN", groups=32))
train = dict(lr=0.01)
