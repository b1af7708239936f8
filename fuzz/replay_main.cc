// Runs a fuzz target's entry function over files, without libFuzzer: the regression test that
// replays checked-in inputs in every build. Each argument is a file or a directory whose
// regular files are replayed in name order. A failing input aborts inside the target, and the
// file name printed before it identifies the input.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

namespace fs = std::filesystem;

std::vector<fs::path> list_inputs(const fs::path& argument) {
  if (!fs::is_directory(argument)) {
    return {argument};
  }
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(argument)) {
    if (entry.is_regular_file()) {
      files.push_back(entry.path());
    }
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s FILE_OR_DIRECTORY...\n", argv[0]);
    return 2;
  }
  size_t replayed = 0;
  for (int i = 1; i < argc; ++i) {
    // A target's regression directory is created with its first input, so until then it is
    // missing, and that counts as empty.
    if (!fs::exists(argv[i])) {
      std::fprintf(stderr, "no inputs: %s does not exist\n", argv[i]);
      continue;
    }
    for (const fs::path& path : list_inputs(argv[i])) {
      std::ifstream file(path, std::ios::binary);
      std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(file)),
                                 std::istreambuf_iterator<char>());
      if (!file.good() && !file.eof()) {
        std::fprintf(stderr, "failed to read %s\n", path.c_str());
        return 1;
      }
      std::fprintf(stderr, "replaying %s (%zu bytes)\n", path.c_str(), bytes.size());
      // A copy of exactly the input's size, so that ASan catches reads past its end.
      std::vector<uint8_t> input(bytes);
      LLVMFuzzerTestOneInput(input.empty() ? nullptr : input.data(), input.size());
      ++replayed;
    }
  }
  std::printf("%zu inputs replayed, 0 failed\n", replayed);
  return 0;
}
