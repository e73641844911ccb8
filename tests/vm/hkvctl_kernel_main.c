// SPDX-License-Identifier: MIT
/*
 * hkvctl_kernel_main.c - a static stand-alone `hkvctl kernel` for the test
 * VM: tools/hkvctl/kernel.c with a main() that supplies argv[0] = "kernel".
 */
#include "kernel.h"

int main(int argc, char **argv)
{
	argv[0] = "kernel";
	return hkvctl_kernel_main(argc, argv);
}
