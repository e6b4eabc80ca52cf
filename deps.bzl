"""mnemo_dependencies(): mnemo's offline repositories, for a workspace that uses mnemo.

In the other workspace's WORKSPACE:

    local_repository(name = "mnemo", path = "/path/to/mnemo")
    load("@mnemo//:deps.bzl", "mnemo_dependencies")
    mnemo_dependencies()

Then `deps = ["@mnemo//core"]`, and `load("@mnemo//plugins:plugin.bzl",
"mnemo_plugin")` / `load("@mnemo//third_party:proto.bzl", "mnemo_cc_proto")`
for plugins of its own. Nothing is downloaded: Bazel's rules come from the
stand-ins in mnemo's third_party/, the libraries from Debian's packages
(mnemo's ./bazelw installs them). A repository the workspace defines already
is left as it is.
"""

def _mnemo_stand_in_impl(repository_ctx):
    # The stand-in's files, linked from mnemo's tree wherever that is.
    source = repository_ctx.path(repository_ctx.attr.marker).dirname
    for child in source.readdir():
        repository_ctx.symlink(child, child.basename)

_mnemo_stand_in = repository_rule(
    implementation = _mnemo_stand_in_impl,
    attrs = {"marker": attr.label(allow_single_file = True)},
    local = True,
)

def _maybe(rule, name, **kwargs):
    if not native.existing_rule(name):
        rule(name = name, **kwargs)

def mnemo_dependencies():
    """The repositories mnemo's BUILD files name, as mnemo's own WORKSPACE defines them."""
    for name in ["rules_cc", "rules_java", "remote_coverage_tools"]:
        _maybe(
            _mnemo_stand_in,
            name = name,
            marker = Label("//third_party/%s:BUILD" % name),
        )
    _maybe(
        native.local_repository,
        name = "platforms",
        path = "/usr/share/bazel/tools/platforms",
    )
    _maybe(
        native.new_local_repository,
        name = "eigen",
        build_file = str(Label("//third_party:eigen.BUILD")),
        path = "/usr/include/eigen3",
    )
    _maybe(
        native.new_local_repository,
        name = "openmpi",
        build_file = str(Label("//third_party:openmpi.BUILD")),
        path = "/usr/lib/x86_64-linux-gnu/openmpi",
    )
