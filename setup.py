"""The installed namespace is ``starmill.*`` only: the repository keeps its rooms as top-level folders
(schemas, generators, filters, warehouse, flows) and the wheel maps each to ``starmill.<room>``, so
nothing but ``starmill`` lands at the top of site-packages. Metadata lives in pyproject.toml;
tests/test_packaging.py builds the wheel and checks what it installs."""

from setuptools import find_packages, setup

ROOMS = ["schemas", "generators", "filters", "warehouse", "flows"]

packages = find_packages(include=["starmill", "starmill.*"])
package_dir = {"starmill": "starmill"}
for room in ROOMS:
    package_dir[f"starmill.{room}"] = room
    packages += [f"starmill.{room}"] + [f"starmill.{room}.{sub}" for sub in find_packages(room)]

setup(packages=packages, package_dir=package_dir)
