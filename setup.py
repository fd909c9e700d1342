"""Install tb-rnn-plugin: the TensorBoard side, the training side and the tab.

summary_ops/ and frontend/ live at the top of the repository (product card)
but install inside the tb_rnn_plugin package, so users import everything from
tb_rnn_plugin and the plugin finds its static files as package data.
"""

import pathlib

from setuptools import setup

setup(
    name="tb-rnn-plugin",
    version="0.1.0",
    description="TensorBoard plugin: per-timestep gradients and activations of recurrent networks",
    long_description=pathlib.Path(__file__).with_name("README.md").read_text(encoding="utf-8"),
    long_description_content_type="text/markdown",
    python_requires=">=3.9",
    packages=["tb_rnn_plugin", "tb_rnn_plugin.summary_ops", "tb_rnn_plugin.frontend"],
    package_dir={
        "tb_rnn_plugin": "tb_rnn_plugin",
        "tb_rnn_plugin.summary_ops": "summary_ops",
        "tb_rnn_plugin.frontend": "frontend",
    },
    package_data={"tb_rnn_plugin.frontend": [
        "*.js", "*.css", "shell/*.js", "data/*.js", "views/*.js", "draw/*.js", "*/*.css",
        "vendor/*.js", "vendor/LICENSE-*",
    ]},
    install_requires=[
        "tensorboard>=2.21",
        "numpy",
        "protobuf",
        "werkzeug",
    ],
    extras_require={
        # The training side (callback, summary ops, demo) needs TensorFlow;
        # TensorBoard itself does not.
        "train": ["tensorflow>=2.21", "keras>=3.15"],
        "test": ["tensorflow>=2.21", "keras>=3.15", "pytest", "playwright"],
    },
    entry_points={
        "tensorboard_plugins": ["rnn = tb_rnn_plugin.plugin:RnnLoader"],
    },
)
