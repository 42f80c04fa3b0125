"""Build hook: the wheel carries the profiles (notebooks/params/*.yml) as package data.

Everything else about the package is in pyproject.toml. The profiles stay where the
notebooks are; this copies them into ``compendium/data/profiles`` of the built package, so
that an installed compendium (no source checkout) can run ``--profile NAME`` steps.
"""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

PROFILES = Path(__file__).parent / "notebooks" / "params"


class BuildPyWithProfiles(build_py):
    """setuptools' build_py, plus a copy of the profiles into the built package."""

    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads notebooks/params where it is
        target = Path(self.build_lib) / "compendium" / "data" / "profiles"
        target.mkdir(parents=True, exist_ok=True)
        for profile in sorted(PROFILES.glob("*.yml")):
            shutil.copy2(profile, target / profile.name)


setup(cmdclass={"build_py": BuildPyWithProfiles})
