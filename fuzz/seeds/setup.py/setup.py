from setuptools import setup, find_packages

install_requires = [
    'requests>=2.31',
    "click==8.1.7",  # pinned
]
TESTS = ["pytest"]

setup(
    name="app",
    version="1.0",
    packages=find_packages(),
    install_requires=install_requires + ["six"],
    setup_requires=['setuptools_scm'],
    tests_require=TESTS,
    extras_require={
        'docs': ['sphinx>=7', 'furo'],
        "test": TESTS,
    },
)
