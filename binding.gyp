# node-gyp's description of berth's native part; CMakeLists.txt (used by `npm run build:native`)
# describes the same two targets. Keep sources, defines and flags of both in step.
#
#   npx node-gyp rebuild   ->  build/Release/berth_native.node, build/Release/berth-init
#
# Headers come from npm's `nodedir` config (the project's .npmrc), so nothing is downloaded.
#
# Note: npm runs `node-gyp rebuild` by itself on `npm install`/`npm ci` of this package when a
# binding.gyp exists and package.json has no "install" script (set "gypfile": false to stop it).
{
  'variables': {
    # One version for berth, berth_native and berth-init: the one in package.json. JSON.stringify
    # gives the C string literal, quotes included.
    'berth_version': '<!(node -p "JSON.stringify(require(\'./package.json\').version)")',
  },
  'targets': [
    {
      # The Node-API addon. No C++ exceptions (node_addon_api brings
      # NODE_ADDON_API_DISABLE_CPP_EXCEPTIONS and -fno-exceptions; node's defaults add -fno-rtti).
      'target_name': 'berth_native',
      'sources': [
        # Every .cc in native/addon, as CMake's glob: a new file cannot be forgotten here.
        '<!@(node -p "require(\'fs\').readdirSync(\'native/addon\').filter(f => f.endsWith(\'.cc\')).sort().map(f => \'native/addon/\' + f).join(\' \')")',
      ],
      'dependencies': [
        '<!(node -p "require(\'node-addon-api\').targets"):node_addon_api',
      ],
      'defines': [
        'BERTH_VERSION=<(berth_version)',
        'NAPI_VERSION=8',
      ],
      'cflags': ['-Wall', '-Wextra', '-fvisibility=hidden'],
      'cflags_cc': ['-std=c++17', '-fvisibility-inlines-hidden'],
      'libraries': ['-lseccomp'],
    },
    {
      # The container's first process: static, small, no exceptions, no RTTI (see CMakeLists.txt).
      'target_name': 'berth-init',
      'type': 'executable',
      'sources': [
        '<!@(node -p "require(\'fs\').readdirSync(\'native/init\').filter(f => f.endsWith(\'.cc\')).sort().map(f => \'native/init/\' + f).join(\' \')")',
      ],
      'defines': [
        'BERTH_VERSION=<(berth_version)',
      ],
      'cflags': [
        '-Wall', '-Wextra',
        '-fno-asynchronous-unwind-tables', '-ffunction-sections', '-fdata-sections',
      ],
      'cflags_cc': ['-std=c++17', '-fno-exceptions', '-fno-rtti'],
      'ldflags': ['-static', '-Wl,--gc-sections', '-s'],
      'configurations': {
        # node's common.gypi sets -O3 per configuration; a later -Os wins.
        'Release': {'cflags': ['-Os']},
      },
    },
  ],
}
