// Boost.JSON's implementation, compiled once for the bridge (header-only mode).
#include <boost/json/src.hpp>
