// Boost.URL's own sources, compiled once here (Debian's Boost 1.81 ships no libboost_url).
#include <boost/url/src.hpp>
