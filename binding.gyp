{
  "targets": [
    {
      "target_name": "pen_native",
      "sources": [
        "native/engine.c", "native/addr.c", "native/tcp.c", "native/udp.c",
        "native/js.c", "native/napi.c", "native/methods.c", "native/inspect.c", "native/args.c",
        "native/thread.c", "native/slot.c", "native/hold.c"
      ],
      "cflags": ["-std=gnu11", "-O2", "-Wall", "-Wextra", "-Wno-unused-parameter", "-Werror=implicit-function-declaration", "-pthread"],
      "ldflags": ["-pthread"],
      "defines": ["NAPI_VERSION=8"],
      "conditions": [["OS!='linux'", { "type": "none" }]]
    }
  ]
}
