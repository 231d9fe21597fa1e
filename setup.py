"""The one part of the build pyproject.toml cannot declare: the C Avro codec (streams/_avro.c).
It is optional: where it does not compile, the codec's generated Python functions are used."""

from setuptools import Extension, setup

setup(ext_modules=[Extension("streams._avro", ["streams/_avro.c"], optional=True)])
