// `lightvm image import|ls|rm`: the image cache (src/image) from the
// command line. Local files only: nothing is pulled from a registry.
#pragma once

namespace lightvm::cli {

int image_command_main(int argc, char** argv);

}  // namespace lightvm::cli
