// A shared object that is not a mnemo plugin: it never calls MNEMO_PLUGIN.

extern "C" __attribute__((visibility("default"))) int not_a_mnemo_plugin() { return 42; }
