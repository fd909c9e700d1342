from tensorboard.plugins import base_plugin
class RnnLoader(base_plugin.TBLoader):
    pass
